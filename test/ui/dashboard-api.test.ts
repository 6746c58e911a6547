import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'ui-api-test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const POLICY = `
version: 1
identitySources: [source_cidr]
identities:
  - { name: billing, match: { sourceCidr: ["10.0.1.0/24"] } }
egress:
  - identity: billing
    allow:
      - { id: stripe-api, host: api.stripe.com, methods: [GET, POST] }
      - { id: github-api, host: api.github.com }
scrub:
  fingerprintKey: { value: "ui-api-fingerprint-key-0123456789" }
`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(POLICY, { adminToken: TOKEN });
  const authz = new EnvoyExtAuthzDriver(server.grpcPort);
  for (const [host, path] of [['api.stripe.com', '/v1/charges/ch_1'], ['api.github.com', '/repos/a/b'], ['api.github.com', '/repos/a/b'], ['evil.example.com', '/']]) {
    await authz.check({ method: 'POST', authority: host!, path, sourceAddress: '10.0.1.5' });
  }
  authz.close();
  await server.events.flush();
});
afterAll(async () => {
  await server?.stop();
});

describe('dashboard serving and its admin endpoints', () => {
  it('serves /ui/ without a token, with the import map inline and a CSP that allows only this origin', async () => {
    const res = await server.admin('/ui/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<script type="importmap">');
    expect(html).toContain('/ui/vendor/preact.mjs');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect((await server.admin('/ui/vendor/preact.mjs')).headers.get('content-type')).toContain('text/javascript');
    expect((await server.admin('/ui/pages/map.js')).status).toBe(200);
    // The API itself still needs the token.
    expect((await server.admin('/v1/egress-map')).status).toBe(401);
  });

  it('refuses paths outside ui/ and unknown libraries', async () => {
    // Raw request lines: fetch would resolve the dot segments before sending.
    const rawGet = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.adminPort, path }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/../../../etc/passwd', '/ui/vendor/fastify.mjs', '/ui/nope.js', '/ui/lib/../../package.json']) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('"dependencies"');
    }
  });

  it('the egress map endpoint names each destination with its registrable domain', async () => {
    const map = await (await server.admin('/v1/egress-map', { headers: auth })).json();
    const stripe = map.nodes.find((n: { label: string }) => n.label === 'api.stripe.com:443');
    expect(stripe.domain).toBe('stripe.com');
    expect(map.edges.find((e: { target: string }) => e.target.includes('evil.example.com')).deny).toBe(1);
  });

  it('policy impact lists the observed edges a proposed policy would start and stop denying, with the diff', async () => {
    const proposed = POLICY.replace('      - { id: github-api, host: api.github.com }\n', '      - { id: evil, host: evil.example.com }\n');
    const res = await server.admin('/v1/policy:impact', { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: proposed });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.valid).toBe(true);
    expect(body.impact.counts).toEqual({ start_denying: 1, stop_denying: 1, report_changes: 0 });
    expect(body.impact.start_denying[0]).toMatchObject({ identity: 'billing', destination: 'api.github.com:443', requests: 2, before: { verdict: 'allow', rule: 'github-api' }, after: { verdict: 'deny', rule: 'default-deny' } });
    expect(body.impact.stop_denying[0]).toMatchObject({ destination: 'evil.example.com:default', after: { verdict: 'allow', rule: 'evil' } });
    expect(body.diff.lines.filter((l: { op: string }) => l.op !== '=').map((l: { op: string; line: string }) => `${l.op}${l.line.trim()}`)).toEqual([
      '-- { id: github-api, host: api.github.com }',
      '+- { id: evil, host: evil.example.com }',
    ]);
    // The inline fingerprint key is a placeholder in the diff, never the secret.
    expect(JSON.stringify(body)).not.toContain('ui-api-fingerprint-key-0123456789');
    // Nothing was installed.
    expect(server.policies.current.version).toBe(1);
  });

  it('policy impact of an invalid proposal answers 400 with every problem and its path', async () => {
    const res = await server.admin('/v1/policy:impact', { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: POLICY.replace('host: api.stripe.com', 'host: "*.com"') });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.valid).toBe(false);
    expect(body.problems[0].path).toBe('egress[0].allow[0].host');
  });

  it('the event stream sends a summary at once and another when traffic moves, and ends when the server stops', async () => {
    const res = await server.admin('/v1/events/stream', { headers: auth });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const next = async () => {
      let buf = '';
      while (!buf.includes('\n\n')) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        buf += value;
      }
      return JSON.parse(buf.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
    };
    const first = await next();
    expect(first.totals.deny).toBe(1);
    const authz = new EnvoyExtAuthzDriver(server.grpcPort);
    await authz.check({ method: 'GET', authority: 'evil.example.com', path: '/', sourceAddress: '10.0.1.5' });
    authz.close();
    await server.events.flush();
    let second = await next();
    for (let i = 0; i < 5 && second.totals.deny < 2; i++) second = await next();
    expect(second.totals.deny).toBe(2);
    expect(second.seq).toBeGreaterThan(first.seq);
    const activity = await (await server.admin('/v1/inventory/activity?destinations=evil.example.com:default', { headers: auth })).json();
    // Summed: the two requests may fall on either side of a minute boundary.
    expect(activity.series['evil.example.com:default'].reduce((a: number, b: number) => a + b, 0)).toBe(2);
    expect(activity.series['evil.example.com:default']).toHaveLength(30);
    await server.stop();
    expect(await next()).toBeUndefined();
  });
});
