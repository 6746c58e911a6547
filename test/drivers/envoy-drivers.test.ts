import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { applyCheckResponse } from './envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver, type ExtProcFilterConfig } from './envoy-ext-proc-driver.js';
import { toProtoStruct } from './proto-struct.js';

// The drivers are checked against a scripted processor (not Tollgate): each test says how the processor answers and
// asserts what Envoy's source says happens next, so a driver cannot quietly do a processor's work.
// Replies as proto-loader takes them (enum names as strings).
type Script = (req: ProcessingRequest) => Record<string, unknown>;
let script: Script = () => ({});
const seen: ProcessingRequest[] = [];
let server: grpc.Server;
let driver: EnvoyExtProcDriver;

beforeAll(async () => {
  const { grpcObject } = loadServiceProtos();
  const svc = (grpcObject.envoy as never as { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } }).service.ext_proc.v3.ExternalProcessor.service;
  server = new grpc.Server();
  server.addService(svc, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (req: ProcessingRequest) => {
        seen.push(req);
        call.write(script(req) as ProcessingResponse);
      });
      call.on('error', () => undefined);
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  driver = new EnvoyExtProcDriver(port);
});
afterAll(() => {
  driver.close();
  server.forceShutdown();
});

// Tollgate's shape: headers SEND, body NONE, override allowed.
const CFG: ExtProcFilterConfig = { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', allowModeOverride: true };
const upper = (req: ProcessingRequest): Record<string, unknown> => ({ request_body: { response: { body_mutation: { body: Buffer.from(Buffer.from(req.request_body!.body ?? []).toString().toUpperCase() + '!') } } } });
const headersWith = (extra: Array<[string, string]>): Array<[string, string]> => [[':authority', 'api.example.com'], [':method', 'POST'], [':path', '/'], [':scheme', 'http'], ...extra];

describe('the ext_proc driver does what ext_proc.cc and processor_state.cc do', () => {
  it('after a mode_override to STREAMED nothing removes content-length: the upstream gets the old length with the new body', async () => {
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'STREAMED', response_header_mode: 'SKIP' } } : upper(req));
    const out = await driver.process({ headers: headersWith([['content-length', '10']]), body: [Buffer.from('hello'), Buffer.from('world')], bodyTiming: 'after_headers_reply' }, CFG);
    expect(out.result).toBe('forwarded');
    expect(out.upstream?.body.toString()).toBe('HELLO!WORLD!');
    expect(out.contentLengthConsistent).toBe(false);
    expect(out.contentLengthMismatch).toEqual({ header: 10, body: 12 });
  });

  it('a body that arrived before the headers reply goes out as one message, and a changed length without a fixed content-length is a 500', async () => {
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'STREAMED', response_header_mode: 'SKIP' } } : upper(req));
    const out = await driver.process({ headers: headersWith([['content-length', '10']]), body: [Buffer.from('hello'), Buffer.from('world')] }, CFG);
    expect(out.sentKinds).toEqual(['request_headers', 'request_body']);
    expect(out).toMatchObject({ result: 'local_reply', status: 500, error: 'mismatch between content length and the length of the mutated body' });
  });

  it('before Envoy 1.34 a mode_override that leaves response_header_mode unset sends response headers; from 1.34 the configured SKIP holds', async () => {
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'BUFFERED' } } : req.response_headers ? { response_headers: {} } : { request_body: {} });
    const cfg = { ...CFG, responseHeaderMode: 'SKIP' as const };
    const request = { headers: headersWith([['content-length', '2']]), body: [Buffer.from('{}')], responseHeaders: [[':status', '200']] as Array<[string, string]> };
    const legacy = await driver.process(request, cfg);
    expect(legacy.sentKinds).toEqual(['request_headers', 'request_body', 'response_headers']);
    const current = await driver.process(request, { ...cfg, legacyDefaultIsSend: false });
    expect(current.sentKinds).toEqual(['request_headers', 'request_body']);
  });

  it('a BUFFERED body over the decoder buffer limit is a 413 from Envoy before the processor sees it', async () => {
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'BUFFERED', response_header_mode: 'SKIP' } } : { request_body: {} });
    const out = await driver.process({ headers: headersWith([]), body: [Buffer.alloc(3000, 'a'), Buffer.alloc(3000, 'b')], bodyTiming: 'after_headers_reply' }, { ...CFG, bufferLimit: 4096 });
    expect(out).toMatchObject({ result: 'local_reply', status: 413, localReplyOrigin: 'envoy' });
    expect(out.sentKinds).toEqual(['request_headers']);
  });

  it('STREAMED with trailers SKIPped: no chunk says end_of_stream, trailers pass untouched, and what the processor held back is lost', async () => {
    // A processor that holds the last 2 bytes of every chunk and never emits them.
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'STREAMED', response_header_mode: 'SKIP' } } : { request_body: { response: { body_mutation: { body: Buffer.from(req.request_body!.body ?? []).subarray(0, -2) } } } });
    const before = seen.length;
    const out = await driver.process({ headers: headersWith([]), body: [Buffer.from('abcdef'), Buffer.from('ghijkl')], trailers: [['x-sum', '1']], bodyTiming: 'after_headers_reply' }, CFG);
    const chunks = seen.slice(before).filter((r) => r.request_body);
    expect(chunks.map((r) => r.request_body!.end_of_stream ?? false)).toEqual([false, false]);
    expect(out.upstream?.body.toString()).toBe('abcdghij');
    expect(out.upstream?.trailers).toEqual([['x-sum', '1']]);
  });

  it('STREAMED with trailers SENT: the trailers message comes only after every chunk was answered', async () => {
    script = (req) => (req.request_headers ? { request_headers: {}, mode_override: { request_body_mode: 'STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SKIP' } } : req.request_trailers ? { request_trailers: {} } : { request_body: {} });
    const out = await driver.process({ headers: headersWith([]), body: [Buffer.from('abc'), Buffer.from('def')], trailers: [['x-sum', '1']], bodyTiming: 'after_headers_reply' }, CFG);
    expect(out.sentKinds).toEqual(['request_headers', 'request_body', 'request_body', 'request_trailers']);
    expect(out.upstream?.body.toString()).toBe('abcdef');
  });

  it('a refusal after STREAMED chunks were answered cannot recall them: the upstream already has them when the request is reset', async () => {
    script = (req) =>
      req.request_headers
        ? { request_headers: {}, mode_override: { request_body_mode: 'STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SKIP' } }
        : req.request_trailers
          ? { immediate_response: { status: { code: 'Forbidden' }, body: Buffer.from('no') } }
          : { request_body: {} };
    const out = await driver.process({ headers: headersWith([]), body: [Buffer.from('abc'), Buffer.from('def')], trailers: [['x-sum', '1']], bodyTiming: 'after_headers_reply' }, CFG);
    expect(out).toMatchObject({ result: 'local_reply', status: 403, localReplyOrigin: 'processor' });
    expect(out.upstreamBeforeReset?.body.toString()).toBe('abcdef');
  });

  it('metadata_context carries only the namespaces the filter config forwards', async () => {
    script = () => ({ request_headers: {} });
    const metadata = { 'envoy.filters.http.ext_authz': { identity: 'billing' }, 'other.filter': { secret: 'x' } };
    const before = seen.length;
    await driver.process({ headers: headersWith([]), metadata }, { ...CFG, forwardingNamespaces: ['envoy.filters.http.ext_authz'] });
    const first = seen[before] as { metadata_context?: { filter_metadata?: Record<string, unknown> } };
    expect(Object.keys(first.metadata_context?.filter_metadata ?? {})).toEqual(['envoy.filters.http.ext_authz']);
    await driver.process({ headers: headersWith([]), metadata }, CFG);
    const second = seen.at(-1) as { metadata_context?: { filter_metadata?: Record<string, unknown> } };
    expect(Object.keys(second.metadata_context?.filter_metadata ?? {})).toEqual([]);
  });
});

describe('the ext_authz driver applies a CheckResponse as ext_authz.cc onComplete does', () => {
  const ok = (r: Partial<NonNullable<CheckResponse['ok_response']>>, dm?: Record<string, unknown>): CheckResponse => ({ status: { code: 0 }, ok_response: r, ...(dm ? { dynamic_metadata: toProtoStruct(dm) } : {}) }) as CheckResponse;
  const base: Array<[string, string]> = [[':authority', 'api.example.com'], [':path', '/'], ['host', 'api.example.com'], ['x-a', '1']];

  it('a header both set and removed is gone: removals come last', () => {
    const r = applyCheckResponse(base, ok({ headers: [{ header: { key: 'x-id', value: 'billing' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] as never, headers_to_remove: ['x-id'] }));
    expect(r.headers.some(([k]) => k === 'x-id')).toBe(false);
  });

  it('append adds to an existing header and is dropped for a missing one; pseudo-headers and host are not removable', () => {
    const r = applyCheckResponse(base, ok({ headers: [{ header: { key: 'x-a', value: '2' }, append: { value: true } }, { header: { key: 'x-b', value: '3' }, append: { value: true } }] as never, headers_to_remove: [':path', 'host'] }));
    expect(r.headers).toEqual([...base.slice(0, 3), ['x-a', '1,2']]);
    expect(r.ignored).toEqual(['append x-b', 'remove :path', 'remove host']);
  });

  it('dynamic_metadata becomes the stream metadata of the ext_authz namespace, and a denial without a status is a 403', () => {
    expect(applyCheckResponse(base, ok({}, { identity: 'billing' })).dynamicMetadata).toEqual({ identity: 'billing' });
    expect(applyCheckResponse(base, { status: { code: 7 } } as CheckResponse).localReply?.status).toBe(403);
  });
});
