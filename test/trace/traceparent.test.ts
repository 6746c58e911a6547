import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceContext } from '../../src/trace/traceparent.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${SPAN}-01`;
const POLICY = 'version: 1\negress:\n  - identity: "*"\n    allow: [{ host: api.vendor.example, scheme: https }]\n';

describe('traceparent parsing', () => {
  it('a valid traceparent gives its trace and span ids', () => {
    expect(traceContext(TRACEPARENT)).toEqual({ trace_id: TRACE, span_id: SPAN });
    // A later version may carry more fields after the flags.
    expect(traceContext(`01-${TRACE}-${SPAN}-00-extra`)).toEqual({ trace_id: TRACE, span_id: SPAN });
  });

  it('anything else gives nothing: never header text in a record', () => {
    for (const bad of [
      undefined,
      '',
      `ff-${TRACE}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-jane.doe@example.com`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      'ghp_0123456789abcdefghijklmnopqrstuvwxyz01',
      `00-${TRACE}-${SPAN}-01${'x'.repeat(600)}`,
    ]) {
      expect(traceContext(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('a decision and its scrub record can be joined to the trace that caused them', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(POLICY);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the ext_authz decision record (the pino audit line) and the audit log carry trace_id and span_id', async () => {
    const driver = new EnvoyExtAuthzDriver(server.grpcPort);
    const out = await driver.check({ method: 'GET', authority: 'api.vendor.example', path: '/v1/x', scheme: 'https', headers: { traceparent: TRACEPARENT } });
    driver.close();
    expect(out.allowed).toBe(true);
    const record = server.decisions.at(-1)!;
    expect(record).toMatchObject({ trace_id: TRACE, span_id: SPAN });
    await server.events.flush();
    let stored: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !stored; i++) {
      const page = (await (await server.admin('/v1/audit?kind=decision&limit=100')).json()) as { records: Array<Record<string, unknown>> };
      stored = page.records.find((r) => r.decision_id === record.decision_id);
      if (!stored) await new Promise((r) => setTimeout(r, 50));
    }
    expect(stored).toMatchObject({ trace_id: TRACE, span_id: SPAN });
  });

  it('an invalid traceparent adds no trace fields and none of its text', async () => {
    const driver = new EnvoyExtAuthzDriver(server.grpcPort);
    await driver.check({ method: 'GET', authority: 'api.vendor.example', path: '/v1/x', scheme: 'https', headers: { traceparent: `00-${TRACE}-${SPAN}-01-jane.doe@example.com` } });
    driver.close();
    const record = server.decisions.at(-1)!;
    expect(record.trace_id).toBeUndefined();
    expect(JSON.stringify(record)).not.toContain('jane.doe');
  });

  it('the ext_proc scrub record carries the trace of the request it scrubbed', async () => {
    const driver = new EnvoyExtProcDriver(server.grpcPort);
    const body = Buffer.from('{"note":"mail jane.doe@example.com"}');
    const headers: Array<[string, string]> = [[':method', 'POST'], [':path', '/v1/notes'], [':authority', 'api.vendor.example'], [':scheme', 'https'], ['content-type', 'application/json'], ['content-length', String(body.length)], ['traceparent', TRACEPARENT]];
    const out = await driver.process({ headers, body: [body] }, { requestBodyMode: 'NONE', allowModeOverride: true });
    driver.close();
    expect(out.result).toBe('forwarded');
    let record = server.scrubs.at(-1);
    for (let i = 0; i < 50 && !record; i++) {
      await new Promise((r) => setTimeout(r, 20));
      record = server.scrubs.at(-1);
    }
    expect(record).toMatchObject({ outcome: 'scrubbed', trace_id: TRACE, span_id: SPAN });
  });
});
