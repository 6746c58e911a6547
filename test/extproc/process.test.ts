import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXT_AUTHZ_NAMESPACE } from '../../src/authz/check-response.js';
import { loadServiceProtos } from '../../src/proto/load.js';
import { EnvoyExtProcDriver, type ExtProcFilterConfig } from '../drivers/envoy-ext-proc-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const POLICY = `
version: 1
identities:
  - { name: billing, match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" } }
egress:
  - identity: billing
    allow: [{ host: api.vendor.example }]
scrub:
  defaults: { email: redact, credit_card: mask, jwt: hash, private_key: block }
  identities:
    billing: { email: allow }
  destinations:
    "api.payments.example": { credit_card: allow }
  bufferLimitBytes: 4096
  maxBodyBytes: 16384
  fingerprintKey: { value: "test-fingerprint-key-0123456789" }
`;

// Envoy's config as Tollgate's xDS pushes it: headers SEND, body NONE unless overridden, ext_authz's metadata forwarded.
const ENVOY: ExtProcFilterConfig = { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', allowModeOverride: true, bufferLimit: 4096, forwardingNamespaces: [EXT_AUTHZ_NAMESPACE] };

function request(body: string | undefined, opts: { identity?: string; authority?: string; contentType?: string; headers?: Array<[string, string]>; path?: string; chunks?: number } = {}) {
  const headers: Array<[string, string]> = [
    [':authority', opts.authority ?? 'api.vendor.example'],
    [':method', body === undefined ? 'GET' : 'POST'],
    [':path', opts.path ?? '/v1/things'],
    [':scheme', 'http'],
    ['x-request-id', 'req-1'],
    ...(opts.headers ?? []),
  ];
  if (body !== undefined) {
    headers.push(['content-type', opts.contentType ?? 'application/json']);
    if (!opts.chunks) headers.push(['content-length', String(Buffer.byteLength(body))]);
  }
  const buf = body === undefined ? undefined : Buffer.from(body);
  const chunks: Buffer[] | undefined = buf && opts.chunks ? Array.from({ length: opts.chunks }, (_, i) => buf.subarray(Math.floor((i * buf.length) / opts.chunks!), Math.floor(((i + 1) * buf.length) / opts.chunks!))) : buf ? [buf] : undefined;
  // What ext_authz left in the stream's dynamic metadata (ext_authz.cc Filter::onComplete).
  const metadata = { [EXT_AUTHZ_NAMESPACE]: { identity: opts.identity ?? 'unknown', decision_id: 'dec-1' } };
  return { headers, metadata, ...(chunks ? { body: chunks } : {}) };
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

const header = (h: Array<[string, string]>, name: string) => h.find(([k]) => k === name)?.[1];

describe('ext_proc over real gRPC, driven as Envoy streams a request', () => {
  it('a JSON body with an email is redacted in BUFFERED mode, the JSON stays valid and content-length matches', async () => {
    const out = await envoy.process(request('{"to":"jane.doe@example.com","note":"hi"}'), ENVOY);
    expect(out.error).toBeUndefined();
    expect(out.result).toBe('forwarded');
    expect(out.bodyModeUsed).toBe('BUFFERED');
    const json = JSON.parse(out.body.toString());
    expect(json).toEqual({ to: '[REDACTED:email]', note: 'hi' });
    expect(Number(header(out.headers, 'content-length'))).toBe(out.body.length);
  });

  it('a body with nothing to scrub reaches the upstream byte for byte, its content-length untouched', async () => {
    const text = '{ "name" : "Zoë Ångström",\n  "city": "K\\u00f8benhavn", "qty": 3, "emoji": "🚚", "tags": [ ] }';
    const out = await envoy.process(request(text, { path: '/v1/clean' }), ENVOY);
    expect(out.result).toBe('forwarded');
    expect(out.bodyModeUsed).toBe('BUFFERED');
    expect(out.body.equals(Buffer.from(text))).toBe(true);
    expect(header(out.headers, 'content-length')).toBe(String(Buffer.byteLength(text)));
    const record = await vi.waitFor(() => {
      const found = server.scrubs.find((r) => r.path === '/v1/clean');
      if (!found) throw new Error('no audit record yet');
      return found;
    });
    expect(record).toMatchObject({ outcome: 'forwarded', findings: [] });
  });

  it('a scrubbed body with multi-byte text gets the content-length of its UTF-8 bytes', async () => {
    const text = JSON.stringify({ to: 'jane.doe@example.com', note: 'Grüße aus Zürich — 東京 🚚 '.repeat(8) });
    const out = await envoy.process(request(text), ENVOY);
    expect(out.result).toBe('forwarded');
    expect(JSON.parse(out.body.toString('utf8'))).toEqual({ to: '[REDACTED:email]', note: 'Grüße aus Zürich — 東京 🚚 '.repeat(8) });
    expect(header(out.headers, 'content-length')).toBe(String(out.body.length));
  });

  it('a card number is masked to its last four digits', async () => {
    const out = await envoy.process(request('{"card":"4242 4242 4242 4242"}'), ENVOY);
    expect(JSON.parse(out.body.toString()).card).toMatch(/\*{4}.*4242$/);
  });

  it('the hash action gives the same stable token for the same value, so joins still work downstream', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    const a = await envoy.process(request(JSON.stringify({ t: jwt })), ENVOY);
    const b = await envoy.process(request(JSON.stringify({ other: jwt })), ENVOY);
    const ta = JSON.parse(a.body.toString()).t;
    expect(ta).toMatch(/^\[HASH:jwt:[0-9a-f]{16}\]$/);
    expect(JSON.parse(b.body.toString()).other).toBe(ta);
  });

  it('a private key in the body blocks the request with a 403 naming the type, never the value', async () => {
    const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----';
    const out = await envoy.process(request(JSON.stringify({ key }), {}), ENVOY);
    expect(out.result).toBe('local_reply');
    expect(out.status).toBe(403);
    const body = JSON.parse(out.body.toString());
    expect(body).toMatchObject({ error: 'egress_blocked', finding_types: ['private_key'], decision_id: 'dec-1' });
    expect(out.body.toString()).not.toContain('MIIEow');
  });

  it('policy overrides apply per identity and per destination', async () => {
    const asBilling = await envoy.process(request('{"to":"jane.doe@example.com"}', { identity: 'billing' }), ENVOY);
    expect(JSON.parse(asBilling.body.toString()).to).toBe('jane.doe@example.com');
    const toPayments = await envoy.process(request('{"card":"4242424242424242"}', { authority: 'api.payments.example' }), ENVOY);
    expect(JSON.parse(toPayments.body.toString()).card).toBe('4242424242424242');
  });

  it('tokens in headers are scrubbed, and Tollgate never touches :authority, host or pseudo-headers', async () => {
    const out = await envoy.process(request(undefined, { headers: [['x-api-key', 'sk_live_51H8bWkJ2eZvKYlo2C0123456789abcdefghij'], ['user-agent', 'app/1.0']] }), ENVOY);
    expect(out.result).toBe('forwarded');
    expect(header(out.headers, 'x-api-key')).toBe('[REDACTED:stripe_secret_key]');
    expect(header(out.headers, ':authority')).toBe('api.vendor.example');
    expect(out.rejectedMutations).toEqual([]);
    expect(out.bodyModeUsed).toBe('NONE');
  });

  it('a request without a body is answered from headers alone and never asks for a body', async () => {
    const out = await envoy.process(request(undefined), ENVOY);
    expect(out.messagesSent).toBe(1);
    expect(out.bodyModeUsed).toBe('NONE');
  });

  it('a binary content type is not scanned: headers only, said so in the audit record', async () => {
    const before = server.scrubs.length;
    const out = await envoy.process(request('jane.doe@example.com', { contentType: 'application/octet-stream' }), ENVOY);
    expect(out.bodyModeUsed).toBe('NONE');
    expect(out.body.toString()).toBe('jane.doe@example.com');
    await new Promise((r) => setTimeout(r, 20));
    expect(server.scrubs.slice(before).at(-1)?.note).toContain('not scannable');
  });

  it('a body over the buffer limit is STREAMED and a token split across two chunks is still caught', async () => {
    const filler = 'x'.repeat(3000);
    const token = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    const text = `${filler} token=${token} ${filler}`;
    const split = text.indexOf(token) + 10;
    const body = Buffer.from(text);
    const out = await envoy.process({ ...request(text, { contentType: 'text/plain', chunks: 1 }), body: [body.subarray(0, split), body.subarray(split)], bodyTiming: 'after_headers_reply' }, ENVOY);
    expect(out.bodyModeUsed).toBe('STREAMED');
    expect(out.body.toString()).not.toContain('A1b2C3d4');
    expect(out.body.toString()).toContain('[REDACTED:github_token]');
    expect(out.body.length).toBeGreaterThan(6000);
  });

  it('observability mode records findings but sends no reply and mutates nothing', async () => {
    const before = server.scrubs.length;
    const out = await envoy.process(request('{"to":"jane.doe@example.com"}'), { ...ENVOY, observabilityMode: true, requestBodyMode: 'STREAMED' });
    expect(out.error).toBeUndefined();
    expect(out.body.toString()).toContain('jane.doe@example.com');
    await new Promise((r) => setTimeout(r, 50));
    const rec = server.scrubs.slice(before).at(-1);
    expect(rec?.outcome).toBe('observed');
  });

  it('the identity comes from ext_authz metadata only: an x-tollgate-identity header sent by the workload is ignored', async () => {
    const before = server.scrubs.length;
    const out = await envoy.process(request('{"to":"jane.doe@example.com"}', { headers: [['x-tollgate-identity', 'billing']] }), ENVOY);
    expect(JSON.parse(out.body.toString()).to).toBe('[REDACTED:email]');
    await new Promise((r) => setTimeout(r, 20));
    expect(server.scrubs.slice(before).at(-1)?.identity).toBe('unknown');
  });

  it('behind a gateway whose ext_authz is not Tollgate\'s, the caller is identified from request_attributes (peer URI SAN)', async () => {
    const before = server.scrubs.length;
    const req = { ...request('{"to":"jane.doe@example.com"}', { path: '/v1/attr' }), metadata: {}, attributes: { 'connection.uri_san_peer_certificate': 'spiffe://prod.example/ns/billing/sa/web', 'source.address': '10.9.8.7:51234' } };
    const out = await envoy.process(req, { ...ENVOY, requestAttributes: ['connection.uri_san_peer_certificate', 'source.address'] });
    expect(JSON.parse(out.body.toString()).to).toBe('jane.doe@example.com');
    await new Promise((r) => setTimeout(r, 20));
    expect(server.scrubs.slice(before).find((r) => r.path === '/v1/attr')?.identity).toBe('billing');
  });

  it('a streamed body loses its content-length in the headers reply, since Envoy decided to keep it before the override', async () => {
    const text = `{"note":"${'y'.repeat(5000)}","to":"jane.doe@example.com"}`;
    const out = await envoy.process({ ...request(text), bodyTiming: 'after_headers_reply' }, ENVOY);
    expect(out.bodyModeUsed).toBe('STREAMED');
    expect(out.upstream?.body.toString()).toContain('[REDACTED:email]');
    expect(header(out.upstream?.headers ?? [], 'content-length')).toBeUndefined();
    expect(out.contentLengthConsistent).toBe(true);
  });

  it('the body mode override sets every field, so even Envoy before 1.34 sends no response headers to Tollgate', async () => {
    const out = await envoy.process({ ...request('{"to":"jane.doe@example.com"}'), responseHeaders: [[':status', '200']] }, { ...ENVOY, legacyDefaultIsSend: true });
    expect(out.bodyModeUsed).toBe('BUFFERED');
    expect(out.responseHeadersMessage).toBe(false);
    expect(out.sentKinds).not.toContain('response_headers');
  });

  it('a streamed body followed by trailers is refused rather than forwarded without the bytes held back for scanning', async () => {
    const text = `{"note":"${'z'.repeat(5000)}","to":"jane.doe@example.com"}`;
    const buf = Buffer.from(text);
    const out = await envoy.process({ ...request(text, { chunks: 2 }), body: [buf.subarray(0, 3000), buf.subarray(3000)], trailers: [['x-checksum', 'abc']], bodyTiming: 'after_headers_reply' }, ENVOY);
    expect(out.bodyModeUsed).toBe('STREAMED');
    expect(out.sentKinds).toContain('request_trailers');
    expect(out.result).toBe('local_reply');
    expect(out.status).toBe(403);
    expect(out.body.toString()).toContain('trailers');
  });

  it('a streamed body past scrub.maxBodyBytes is refused with 413, never forwarded unscanned', async () => {
    const text = 'a'.repeat(20_000);
    const buf = Buffer.from(text);
    const out = await envoy.process({ ...request(text, { contentType: 'text/plain', chunks: 4 }), body: [0, 1, 2, 3].map((i) => buf.subarray(i * 5000, (i + 1) * 5000)), bodyTiming: 'after_headers_reply' }, ENVOY);
    expect(out.result).toBe('local_reply');
    expect(out.status).toBe(413);
    expect(JSON.parse(out.body.toString())).toMatchObject({ error: 'egress_body_too_large' });
    const metrics = await (await server.admin('/metrics')).text();
    expect(metrics).toMatch(/tollgate_limit_rejections_total\{limit="scrubBodyBytes"\} 1/);
  });

  it('each stream writes one audit record with finding types, actions and fingerprints, never values', async () => {
    await envoy.process(request('{"to":"jane.doe@example.com"}', { path: '/v1/one-record' }), ENVOY);
    // The record is written when the stream ends, which Envoy does after it has the reply: wait for it, not for a time.
    const records = await vi.waitFor(
      () => {
        const found = server.scrubs.filter((r) => r.path === '/v1/one-record');
        if (found.length === 0) throw new Error('no audit record yet');
        return found;
      },
      { timeout: 10_000, interval: 10 },
    );
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ identity: 'unknown', decision_id: 'dec-1', destination: 'api.vendor.example:default', outcome: 'scrubbed', counts: { email: 1 }, body_mode: 'BUFFERED' });
    expect(records[0]!.findings[0]).toMatchObject({ type: 'email', action: 'redact', where: 'json:$.to' });
    expect(JSON.stringify(records)).not.toContain('jane.doe');
  });

  it('an out-of-order message ends the stream with INVALID_ARGUMENT and the server keeps serving', async () => {
    const { grpcObject } = loadServiceProtos();
    const Ctor = (grpcObject.envoy as never as { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } }).service.ext_proc.v3.ExternalProcessor;
    const client = new Ctor(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Process: () => grpc.ClientDuplexStream<unknown, unknown> };
    const call = client.Process();
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    call.write({ request_body: { body: Buffer.from('x'), end_of_stream: true } });
    expect((await status).code).toBe(grpc.status.INVALID_ARGUMENT);
    client.close();
    const out = await envoy.process(request(undefined), ENVOY);
    expect(out.result).toBe('forwarded');
  });
});
