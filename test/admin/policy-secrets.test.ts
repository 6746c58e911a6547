import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHmacToken } from '../../src/identity/signed-header.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HMAC_SECRET = 'hmac-secret-0123456789-do-not-leak';
const FP_KEY = 'fingerprint-key-0123456789-do-not-leak';
const SINK_SECRET = 'sink-secret-0123456789-do-not-leak';
const POLICY = `version: 1
# the shared secrets below are inline on purpose
signedHeader:
  header: x-tollgate-identity
  hmac:
    secret: { value: "${HMAC_SECRET}" }
identities:
  - { name: ci, match: { signedSubject: ci-runner } }
egress:
  - identity: ci
    allow:
      - { id: gh, host: api.github.com }
scrub:
  fingerprintKey:
    value: '${FP_KEY}'
alerts:
  sinks:
    - { name: hook, type: webhook, url: "https://hooks.example.com/a", secret: { value: ${SINK_SECRET} } }
`;
const SECRETS = [HMAC_SECRET, FP_KEY, SINK_SECRET];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(POLICY);
});
afterAll(() => server.stop());

const ciIdentity = async () => (await server.policies.current.identities.resolve({ signedHeader: signHmacToken(HMAC_SECRET, 'ci-runner', Math.floor(Date.now() / 1000) + 600) })).name;

describe('inline policy secrets in admin answers', () => {
  it('GET /v1/policy (JSON and YAML) shows placeholders with a fingerprint, never a secret, and keeps the rest of the text', async () => {
    const json = await (await server.admin('/v1/policy')).text();
    const yaml = await (await server.admin('/v1/policy', { headers: { accept: 'application/yaml' } })).text();
    for (const answer of [json, yaml]) {
      for (const secret of SECRETS) expect(answer).not.toContain(secret);
      expect(answer).toMatch(/<redacted sha256:[0-9a-f]{12}>/);
    }
    expect(yaml).toContain('# the shared secrets below are inline on purpose');
    expect(yaml).toContain('url: "https://hooks.example.com/a"');
  });

  it('PUT of the redacted text it answered (edit round trip) keeps the stored secrets', async () => {
    const shown = await (await server.admin('/v1/policy', { headers: { accept: 'application/yaml' } })).text();
    const edited = shown.replace('host: api.github.com', 'host: uploads.github.com');
    const put = await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: edited });
    expect(put.status).toBe(200);
    expect(server.policies.current.policy.rules.map((r) => r.host)).toContain('uploads.github.com');
    expect(await ciIdentity()).toBe('ci');
    const again = await (await server.admin('/v1/policy', { headers: { accept: 'application/yaml' } })).text();
    for (const secret of SECRETS) expect(again).not.toContain(secret);
  });

  it('a placeholder for a secret the server does not hold is refused with its path, and nothing changes', async () => {
    const before = server.policies.current.etag;
    const forged = POLICY.replace(`"${HMAC_SECRET}"`, '"<redacted sha256:0123456789ab>"');
    const res = await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: forged });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.problems).toEqual([expect.objectContaining({ path: 'signedHeader.hmac.secret.value' })]);
    expect(server.policies.current.etag).toBe(before);
    expect(await ciIdentity()).toBe('ci');
  });

  it('POST /v1/policy:validate accepts the redacted text as valid', async () => {
    const shown = await (await server.admin('/v1/policy', { headers: { accept: 'application/yaml' } })).text();
    const res = await server.admin('/v1/policy:validate', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: shown });
    expect(await res.json()).toMatchObject({ valid: true });
  });
});
