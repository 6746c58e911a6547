import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHmacToken } from '../../src/identity/signed-header.js';
import { EnvoyGateway } from '../drivers/envoy-gateway.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The signed identity header keeps its default name, x-tollgate-identity: the name Tollgate once also used to hand the
// identity to ext_proc, which Envoy removed again (ext_authz.cc Filter::onComplete removes after it sets).
const SECRET = 'signed-identity-secret-0123456789';
const POLICY = `
version: 1
identitySources: [signed_header]
signedHeader:
  hmac: { secret: { value: "${SECRET}" } }
identities:
  - { name: ci, match: { signedSubject: ci-runner } }
egress:
  - identity: "*"
    allow: [{ id: vendor, host: api.vendor.example }]
scrub:
  defaults: { email: redact }
  identities:
    ci: { email: allow }
  fingerprintKey: { value: "test-fingerprint-key-0123456789" }
`;

let server: TestServer;
let gateway: EnvoyGateway;
beforeAll(async () => {
  server = await startTestServer(POLICY);
  gateway = await EnvoyGateway.fromAds({ tollgatePort: server.grpcPort });
});
afterAll(async () => {
  gateway?.close();
  await server?.stop();
});

describe('an identity from a signed header, through the gateway Tollgate configures', () => {
  it('reaches ext_proc, so the per-identity scrub rule applies, and the signed header never reaches the upstream', async () => {
    const token = signHmacToken(SECRET, 'ci-runner', Math.floor(Date.now() / 1000) + 3600);
    const body = JSON.stringify({ to: 'jane.doe@example.com' });
    const r = await gateway.send({ method: 'POST', authority: 'api.vendor.example', path: '/v1/messages', headers: [['content-type', 'application/json'], ['x-tollgate-identity', token]], body: [body] });
    if (r.kind !== 'upstream') throw new Error(`not forwarded: ${r.kind}`);
    expect(JSON.parse(r.body.toString()).to).toBe('jane.doe@example.com');
    expect(r.headers.find(([k]) => k === 'x-tollgate-identity')).toBeUndefined();
    for (let i = 0; i < 100 && !server.scrubs.some((s) => s.path === '/v1/messages'); i++) await new Promise((res) => setTimeout(res, 20));
    expect(server.scrubs.find((s) => s.path === '/v1/messages')?.identity).toBe('ci');
  });
});
