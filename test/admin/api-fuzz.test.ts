import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { TEST_POLICY } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const RUNS = { numRuns: 150, seed: 9 };
const CONTENT_TYPES = ['application/json', 'application/yaml', 'text/plain', 'application/x-yaml', 'application/octet-stream', 'text/html', 'application/json; charset=utf-16'];

const body = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.record({ identity: fc.string(), host: fc.string(), method: fc.string(), path: fc.string() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', '[', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', 'version: 1\n', '\u0000', 'null', '1e999999', '"'.repeat(5)),
);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(TEST_POLICY);
});
afterAll(() => server.stop());

async function answerOf(path: string, method: string, contentType: string, payload: string): Promise<{ status: number; json: unknown }> {
  const res = await server.admin(path, { method, headers: { 'content-type': contentType }, body: payload });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

describe('admin API under random bodies (fast-check, fixed seed and budget)', () => {
  for (const [method, path] of [
    ['PUT', '/v1/policy'],
    ['POST', '/v1/policy:validate'],
    ['POST', '/v1/decide'],
  ] as const) {
    it(`${method} ${path} always answers 2xx or 4xx with a JSON body, never 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...CONTENT_TYPES), body, async (contentType, payload) => {
          const answer = await answerOf(path, method, contentType, payload);
          expect(answer.status, `${contentType} ${JSON.stringify(payload).slice(0, 200)}`).toBeLessThan(500);
          expect(answer.json).toBeTypeOf('object');
        }),
        RUNS,
      );
    }, 120_000);
  }

  it('the server still answers health probes and Checks afterwards', async () => {
    expect((await server.admin('/healthz')).status).toBe(200);
    const envoy = new EnvoyExtAuthzDriver(server.grpcPort);
    const outcome = await envoy.check({ method: 'GET', authority: 'evil.example.com', path: '/' });
    envoy.close();
    expect(outcome.allowed).toBe(false);
  });
});
