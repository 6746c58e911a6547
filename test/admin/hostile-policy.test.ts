import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CST_PARSE_BYTES, POLICY_LIMITS } from '../../src/policy/parse.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const POLICY = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: a, host: a.example.com }\n';
const yaml = { 'content-type': 'application/yaml' };
const json = { 'content-type': 'application/json' };

let server: TestServer;
let envoy: EnvoyExtAuthzDriver;
beforeAll(async () => {
  server = await startTestServer(POLICY);
  envoy = new EnvoyExtAuthzDriver(server.grpcPort);
});
afterAll(async () => {
  envoy.close();
  await server.stop();
});

const put = (body: string, headers: Record<string, string> = yaml) => server.admin('/v1/policy', { method: 'PUT', headers, body });
const validate = (body: string, headers: Record<string, string> = yaml) => server.admin('/v1/policy:validate', { method: 'POST', headers, body });

describe('hostile policy documents get a clear 4xx naming the limit, and the old policy keeps serving', () => {
  it('deep nesting (YAML flow, JSON and block style) is refused with 400 naming maxDepth', async () => {
    const docs: Array<[string, Record<string, string>]> = [
      ['['.repeat(100_000) + ']'.repeat(100_000), yaml],
      ['{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000), json],
      [Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'), yaml],
      ['- '.repeat(1_000) + 'x', yaml],
    ];
    for (const [body, headers] of docs) {
      for (const res of [await put(body, headers), await validate(body, headers)]) {
        expect(res.status).toBe(400);
        const answer = await res.json();
        expect(answer.limit).toEqual({ name: 'maxDepth', value: POLICY_LIMITS.maxDepth });
        expect(answer.problems[0].message).toContain(`${POLICY_LIMITS.maxDepth}`);
      }
    }
  });

  it('a wide document (more nodes than the limit, within the size limit) is refused with 400 naming maxNodes', async () => {
    const wide = `[${'0,'.repeat(POLICY_LIMITS.maxNodes)}0]`;
    const res = await put(wide);
    expect(res.status).toBe(400);
    expect((await res.json()).limit).toEqual({ name: 'maxNodes', value: POLICY_LIMITS.maxNodes });
  });

  it('alias expansion in a large document (over the CST size) is refused with 400', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const res = await put(`${lines.join('\n')}\n# ${'x'.repeat(CST_PARSE_BYTES)}\n`);
    expect(res.status).toBe(400);
    expect((await res.json()).limit).toEqual({ name: 'maxNodes', value: POLICY_LIMITS.maxNodes });
  });

  it('alias expansion (billion laughs) is refused with 400', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const res = await put(lines.join('\n'));
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/alias/i);
  });

  it('a body over the policy size limit is refused with 413 naming the limit in bytes', async () => {
    const big = `version: 1\n# ${'x'.repeat(POLICY_LIMITS.maxBytes)}\n`;
    for (const res of [await put(big), await validate(big), await put(JSON.stringify({ version: 1, pad: 'x'.repeat(POLICY_LIMITS.maxBytes) }), json)]) {
      expect(res.status).toBe(413);
      expect(JSON.stringify(await res.json())).toContain(String(POLICY_LIMITS.maxBytes));
    }
  });

  it('duplicate keys are still refused, with their line', async () => {
    const res = await put('version: 1\negress: []\nversion: 1\n');
    expect(res.status).toBe(400);
    expect((await res.json()).problems[0]).toEqual({ path: 'line 3', message: 'not valid YAML: duplicate key "version"' });
  });

  it('after all of that the original policy still decides', async () => {
    expect((await envoy.check({ method: 'GET', authority: 'a.example.com', path: '/' })).allowed).toBe(true);
  });

  it('Checks keep being answered while the costliest document within the limits is parsed', async () => {
    // Comment lines are the slowest YAML per byte; this is about half the size limit, far below the node limit.
    const slow = '#\n'.repeat(Math.floor(POLICY_LIMITS.maxBytes / 4));
    let adminDone = false;
    const adminAnswer = put(slow).then(async (res) => {
      adminDone = true;
      return { status: res.status, body: await res.json() };
    });
    let answered = 0;
    while (!adminDone) {
      const outcome = await envoy.check({ method: 'GET', authority: 'a.example.com', path: '/' });
      expect(outcome.allowed).toBe(true);
      answered++;
    }
    const admin = await adminAnswer;
    expect(admin.status).toBe(400);
    expect(admin.body.problems.length).toBeGreaterThan(0);
    // Parsed on the event loop, the document would hold every Check until it was done: one or two answers at most.
    console.log(`Checks answered while the admin PUT was parsed: ${answered}`);
    expect(answered).toBeGreaterThanOrEqual(20);
  });
});
