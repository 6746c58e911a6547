import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const POLICY = (limit: number) => `version: 1\negress: []\nscrub:\n  bufferLimitBytes: ${limit}\n`;
const N = 100_000;
const body = Buffer.from(JSON.stringify(Array.from({ length: N }, (_, i) => `u${i}@ex.io`)));

let buffered: TestServer;
let streamed: TestServer;
beforeAll(async () => {
  [buffered, streamed] = await Promise.all([startTestServer(POLICY(4 * 1024 * 1024)), startTestServer(POLICY(1024))]);
});
afterAll(async () => {
  await Promise.all([buffered.stop(), streamed.stop()]);
});

describe('a flood of findings through ext_proc', () => {
  for (const [mode, server] of [
    ['BUFFERED', () => buffered],
    ['STREAMED', () => streamed],
  ] as const) {
    it(`a 1 MB JSON body of 100,000 emails is redacted and answered (${mode}), with a bounded record counting them all`, async () => {
      expect(body.length).toBeGreaterThan(1_000_000);
      const envoy = new EnvoyExtProcDriver(server().grpcPort);
      const chunks = mode === 'STREAMED' ? Array.from({ length: Math.ceil(body.length / 65_536) }, (_, k) => body.subarray(k * 65_536, (k + 1) * 65_536)) : [body];
      const headers: Array<[string, string]> = [
        [':method', 'POST'],
        [':path', '/v1/upload'],
        [':authority', 'api.example.com'],
        ['content-type', 'application/json'],
        ['content-length', String(body.length)],
        ['x-request-id', `flood-${mode}`],
      ];
      const out = await envoy.process({ headers, body: chunks }, { requestBodyMode: 'NONE', allowModeOverride: true, bufferLimit: 8 * 1024 * 1024 });
      envoy.close();
      expect(out.error).toBeUndefined();
      expect(out.result).toBe('forwarded');
      expect(out.bodyModeUsed).toBe(mode);
      const sent = out.body.toString('utf8');
      expect(sent).not.toMatch(/u\d+@ex\.io/);
      expect(JSON.parse(sent)).toHaveLength(N);
      // The record is written when Envoy resets the stream, just after the last reply.
      const rec = await vi.waitFor(
        () => {
          const r = server().scrubs.find((s) => s.request_id === `flood-${mode}`);
          if (r === undefined) throw new Error('no scrub record yet');
          return r;
        },
        { timeout: 10_000 },
      );
      expect(rec.outcome).toBe('scrubbed');
      expect(rec.counts).toEqual({ email: N });
      expect(rec.findings.length).toBeLessThanOrEqual(1000);
      expect(JSON.stringify(rec).length).toBeLessThan(256 * 1024);
    }, 60_000);
  }
});
