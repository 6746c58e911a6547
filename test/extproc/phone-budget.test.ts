import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXT_AUTHZ_NAMESPACE } from '../../src/authz/check-response.js';
import { EnvoyExtProcDriver, type ExtProcFilterConfig } from '../drivers/envoy-ext-proc-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

// A small budget, so a few hundred decoys spend it (the default is 2,000 parses per body).
const POLICY = `
version: 1
egress: []
scrub:
  bufferLimitBytes: 4096
  phoneParseBudget: 20
  fingerprintKey: { value: "test-fingerprint-key-0123456789" }
`;
const ENVOY: ExtProcFilterConfig = { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', allowModeOverride: true, bufferLimit: 4096, forwardingNamespaces: [EXT_AUTHZ_NAMESPACE] };
const REAL = '(415) 555-2671';

/** Reference numbers grouped like phones that libphonenumber rejects, all different. */
function decoys(count: number): string {
  return Array.from({ length: count }, (_, i) => {
    const d = String(100_000_000 + ((i * 7_919_773) % 899_999_999));
    return `ref ${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6, 9)}${i % 10}-${String(i % 97).padStart(2, '4')}`;
  }).join(', ');
}

function request(path: string, body: string, chunks?: number) {
  const buf = Buffer.from(body);
  const parts = chunks ? Array.from({ length: chunks }, (_, i) => buf.subarray(Math.floor((i * buf.length) / chunks), Math.floor(((i + 1) * buf.length) / chunks))) : [buf];
  const headers: Array<[string, string]> = [[':authority', 'api.vendor.example'], [':method', 'POST'], [':path', path], [':scheme', 'http'], ['content-type', 'text/plain']];
  if (!chunks) headers.push(['content-length', String(buf.length)]);
  return { headers, metadata: { [EXT_AUTHZ_NAMESPACE]: { identity: 'unknown', decision_id: 'dec-1' } }, body: parts };
}

let server: TestServer;
let envoy: EnvoyExtProcDriver;
beforeAll(async () => {
  server = await startTestServer(POLICY);
  envoy = new EnvoyExtProcDriver(server.grpcPort);
});
afterAll(async () => {
  envoy.close();
  await server.stop();
});

async function recordFor(path: string) {
  return vi.waitFor(
    () => {
      const r = server.scrubs.find((s) => s.path === path);
      if (!r) throw new Error('no audit record yet');
      return r;
    },
    { timeout: 10_000, interval: 10 },
  );
}

describe('ext_proc under a body that spends its phone parse budget', () => {
  it('a buffered body padded with decoys still has its real phone scrubbed; the record and a metric say the budget ran out', async () => {
    const body = `${decoys(200)}\nCustomer line ${REAL} today`;
    const out = await envoy.process(request('/v1/padded', body), ENVOY);
    expect(out.result).toBe('forwarded');
    expect(out.body.toString()).not.toContain('555-2671');
    const record = await recordFor('/v1/padded');
    expect(record.phone_unvalidated).toBeGreaterThan(0);
    expect(record.note).toMatch(/phone validation budget spent/);
    expect(JSON.stringify(record)).not.toContain('555-2671');
    const metrics = await (await server.admin('/metrics')).text();
    expect(metrics).toMatch(/tollgate_extproc_phone_budget_exhausted_total 1/);
  });

  it('a streamed body (over the buffer limit) does the same across chunks', async () => {
    const body = `${decoys(400)}\nCustomer line ${REAL} today`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(4096);
    const out = await envoy.process({ ...request('/v1/padded-stream', body, 5), bodyTiming: 'after_headers_reply' }, ENVOY);
    expect(out.result).toBe('forwarded');
    expect(out.bodyModeUsed).toBe('STREAMED');
    expect(out.body.toString()).not.toContain('555-2671');
    const record = await recordFor('/v1/padded-stream');
    expect(record.phone_unvalidated).toBeGreaterThan(0);
    expect(record.note).toMatch(/phone validation budget spent/);
  });

  it('request headers share one budget: a cookie jar of decoys spends it, the real phone after them is still scrubbed, and the record says so', async () => {
    // One decoy per cookie: with a budget per cookie value, no value ever spent its own, however many cookies came.
    const cookies = decoys(200).split(', ').map((d, i) => `c${i}=${d.slice(4)}`);
    const req = request('/v1/padded-headers', 'hello');
    req.headers.push(['cookie', cookies.join('; ')], ['x-contact', `call ${REAL}`]);
    const out = await envoy.process(req, ENVOY);
    expect(out.result).toBe('forwarded');
    expect(out.upstream!.headers.find(([k]) => k === 'x-contact')?.[1]).not.toContain('555-2671');
    const record = await recordFor('/v1/padded-headers');
    expect(record.phone_unvalidated).toBeGreaterThan(0);
    expect(record.note).toMatch(/phone validation budget spent/);
    expect(JSON.stringify(record)).not.toContain('555-2671');
  });
});
