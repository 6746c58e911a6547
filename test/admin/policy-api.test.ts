import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const yaml = { ...auth, 'content-type': 'application/yaml' };
const POLICY_A = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: a, host: a.example.com }\n';
const POLICY_B = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: b, host: b.example.com }\n';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(POLICY_A, { adminToken: TOKEN });
});
afterAll(() => server.stop());

describe('admin API', () => {
  it('rejects requests without the bearer token but keeps health probes open', async () => {
    expect((await server.admin('/v1/policy')).status).toBe(401);
    expect((await server.admin('/v1/policy', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await server.admin('/healthz')).status).toBe(200);
    expect((await server.admin('/readyz')).status).toBe(200);
  });

  it('GET /v1/policy returns the current policy with its version and ETag', async () => {
    const res = await server.admin('/v1/policy', { headers: auth });
    const body = await res.json();
    expect(res.headers.get('etag')).toBe(body.etag);
    expect(body.policy).toBe(POLICY_A);
    expect(body.version).toBeGreaterThanOrEqual(1);
  });

  it('PUT /v1/policy with a valid policy changes decisions immediately', async () => {
    const etag = (await server.admin('/v1/policy', { headers: auth })).headers.get('etag')!;
    const put = await server.admin('/v1/policy', { method: 'PUT', headers: { ...yaml, 'if-match': etag }, body: POLICY_B });
    expect(put.status).toBe(200);
    const envoy = new EnvoyExtAuthzDriver(server.grpcPort);
    expect((await envoy.check({ method: 'GET', authority: 'b.example.com', path: '/' })).allowed).toBe(true);
    expect((await envoy.check({ method: 'GET', authority: 'a.example.com', path: '/' })).allowed).toBe(false);
    envoy.close();
  });

  it('PUT /v1/policy with an invalid policy answers 400 with every problem and its path, and keeps the old one', async () => {
    const before = await (await server.admin('/v1/policy', { headers: auth })).json();
    const bad = 'version: 1\negress:\n  - identity: ghost\n    allow:\n      - { host: "api.*.com", port: 70000 }\n';
    const res = await server.admin('/v1/policy', { method: 'PUT', headers: yaml, body: bad });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.problems).toEqual(
      expect.arrayContaining([
        { path: 'egress[0].allow[0].host', message: 'wildcard must be a leading "*."' },
        expect.objectContaining({ path: 'egress[0].allow[0].port' }),
      ]),
    );
    const after = await (await server.admin('/v1/policy', { headers: auth })).json();
    expect(after.etag).toBe(before.etag);
  });

  it('concurrent PUTs with the same ETag: exactly one wins, the others get 409', async () => {
    const etag = (await server.admin('/v1/policy', { headers: auth })).headers.get('etag')!;
    const bodies = Array.from({ length: 8 }, (_, i) => `version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: r${i}, host: h${i}.example.com }\n`);
    const results = await Promise.all(bodies.map((body) => server.admin('/v1/policy', { method: 'PUT', headers: { ...yaml, 'if-match': etag }, body })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const conflict = await results.find((r) => r.status === 409)!.json();
    expect(conflict.error).toBe('etag_mismatch');
  });

  it('POST /v1/policy:validate checks without installing', async () => {
    const ok = await server.admin('/v1/policy:validate', { method: 'POST', headers: yaml, body: POLICY_A });
    expect(await ok.json()).toEqual({ valid: true, rules: 1 });
    const bad = await server.admin('/v1/policy:validate', { method: 'POST', headers: yaml, body: 'version: 2\n' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).problems[0].path).toBe('version');
  });

  it('POST /v1/decide answers what-if questions with the rule and reason', async () => {
    const put = await server.admin('/v1/policy', { method: 'PUT', headers: yaml, body: POLICY_A });
    expect(put.status).toBe(200);
    const res = await server.admin('/v1/decide', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ host: 'a.example.com', method: 'GET', path: '/x' }) });
    expect(await res.json()).toMatchObject({ allowed: true, rule: 'a', identity: 'unknown', verdict: 'allow' });
    const bad = await server.admin('/v1/decide', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET' }) });
    expect(bad.status).toBe(400);
  });

  it('GET /metrics exports decisions by verdict and mode and the Check latency histogram', async () => {
    const envoy = new EnvoyExtAuthzDriver(server.grpcPort);
    await envoy.check({ method: 'GET', authority: 'nowhere.example.com', path: '/' });
    envoy.close();
    const text = await (await server.admin('/metrics', { headers: auth })).text();
    expect(text).toMatch(/tollgate_authz_decisions_total\{verdict="deny",mode="enforce"\} \d+/);
    expect(text).toContain('tollgate_authz_check_duration_seconds_bucket');
  });
});

describe('persistence', () => {
  it('a policy PUT through the API survives a restart', async () => {
    const first = await startTestServer(POLICY_A);
    const put = await first.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: POLICY_B });
    const { version } = await put.json();
    await first.close();
    const second = await startTestServer('', { dir: first.dir });
    const body = await (await second.admin('/v1/policy')).json();
    expect(body.policy).toBe(POLICY_B);
    expect(body.version).toBe(version);
    await second.stop();
  });
});
