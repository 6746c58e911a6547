/**
 * The ext_proc exchange on the wire, as Envoy's ext_proc filter drives it, without a gRPC client library in
 * the load path: one HTTP/2 stream per HTTP request on a shared connection, `request_headers` (headers as
 * `raw_value`, end_of_stream false), wait for the reply, then the whole body in one `request_body`
 * (end_of_stream true, as after a BUFFERED mode_override), wait for the reply, then end the stream.
 *
 * Ending the stream: Envoy by default resets it (RST_STREAM right after its half-close). A Node HTTP/2
 * server (nghttp2 >= 1.57, the HTTP/2 "rapid reset" mitigation) allows a burst of 1,000 stream resets per
 * connection, refilled at 33/s, and then tears the connection down with GOAWAY INTERNAL_ERROR; grpc-js
 * offers no way to raise that limit. So the load runs use the graceful close (half-close, then wait for the
 * server's trailers), which Envoy does with runtime `envoy.reloadable_features.ext_proc_graceful_grpc_close`,
 * and run.ts measures the reset behaviour separately (`close: 'reset'`).
 *
 * The two ProcessingRequests are serialized once with the proto-loader definitions Tollgate itself uses
 * (src/proto/load.ts) and replayed, so the load generator spends its CPU on HTTP/2, not on protobuf;
 * that is what keeps one client process ahead of the server on a 2-core machine (Envoy's C++ client
 * is cheaper still). Replies are checked by their first protobuf tag (which response it is) and their
 * exact length (learned from a decoded reference exchange), not decoded.
 */
import * as http2 from 'node:http2';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';

export const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** Envoy's default HTTP/2 windows for gRPC clusters (256 MiB), so replies never wait for WINDOW_UPDATE from us. */
const ENVOY_WINDOW = 256 * 1024 * 1024;

/** First byte of a ProcessingResponse: field number << 3 | wire type 2 (length-delimited). */
export const TAG = { request_headers: (1 << 3) | 2, request_body: (3 << 3) | 2, immediate_response: (7 << 3) | 2 } as const;

interface MethodDef {
  requestSerialize(o: ProcessingRequest): Buffer;
  responseDeserialize(b: Buffer): ProcessingResponse;
}

export function processMethod(): MethodDef {
  const def = loadServiceProtos().packageDefinition['envoy.service.ext_proc.v3.ExternalProcessor'] as unknown as Record<string, MethodDef>;
  return def.Process!;
}

/** gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, payload. */
export function grpcFrame(msg: Buffer): Buffer {
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  msg.copy(frame, 5);
  return frame;
}

/** What the bench sends for one HTTP request: the request's headers and body, and the two framed messages. */
export interface Exchange {
  name: string;
  headers: Array<[string, string]>;
  body: Buffer;
  headersFrame: Buffer;
  bodyFrame: Buffer;
}

/**
 * The request headers Envoy hands ext_proc for an egress POST after ext_authz ran (identity and decision
 * id added by ext_authz; x-request-id and x-forwarded-proto by the HCM), lower-cased, pseudo-headers first.
 */
export function egressHeaders(bodyBytes: number): Array<[string, string]> {
  return [
    [':authority', 'api.stripe.com'],
    [':path', '/v1/charges'],
    [':method', 'POST'],
    [':scheme', 'https'],
    ['content-type', 'application/json'],
    ['content-length', String(bodyBytes)],
    ['accept', 'application/json'],
    ['user-agent', 'billing-service/4.2.1 node-fetch'],
    ['idempotency-key', '5d1b7f0e-8a4c-4b8e-9f2a-0c6e3d9b1a77'],
    ['x-forwarded-proto', 'https'],
    ['x-request-id', 'c0a80a6e-3b1f-4c2d-9e8a-7f6b5d4c3a21'],
    ['x-tollgate-identity', 'billing'],
    ['x-tollgate-decision-id', '0b6f2c9e-4d1a-4e7b-8c3f-5a2d9e1b7c64'],
  ];
}

export function buildExchange(name: string, body: Buffer): Exchange {
  const method = processMethod();
  const headers = egressHeaders(body.length);
  const headersMsg = {
    request_headers: { headers: { headers: headers.map(([key, v]) => ({ key, raw_value: Buffer.from(v, 'latin1') })) }, end_of_stream: false },
  } as ProcessingRequest;
  const bodyMsg = { request_body: { body, end_of_stream: true } } as ProcessingRequest;
  return { name, headers, body, headersFrame: grpcFrame(method.requestSerialize(headersMsg)), bodyFrame: grpcFrame(method.requestSerialize(bodyMsg)) };
}

/** An HTTP/2 connection to the ext_proc server with Envoy's window sizes. */
export function connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // maxSessionMemory: Node's default (10 MB) refuses new streams with ENHANCE_YOUR_CALM once a few hundred
    // are open with replies buffered; Envoy has no such limit, so lift it as grpc-js does on its side.
    const session = http2.connect(`http://127.0.0.1:${port}`, { maxSessionMemory: 1024, settings: { initialWindowSize: ENVOY_WINDOW, enablePush: false } });
    session.once('error', reject);
    session.once('connect', () => {
      session.setLocalWindowSize(ENVOY_WINDOW);
      session.off('error', reject);
      session.on('error', () => {}); // stream errors are reported per exchange
      resolve(session);
    });
  });
}

const REQUEST_HEADERS: http2.OutgoingHttpHeaders = {
  ':method': 'POST',
  ':path': PROCESS_PATH,
  ':scheme': 'http',
  'content-type': 'application/grpc',
  te: 'trailers',
  'user-agent': 'envoy-bench',
};

export interface ExchangeResult {
  /** Replies (protobuf payloads without the gRPC prefix), in order. */
  replies: Buffer[];
  /** When the body reply arrived (performance.now()). */
  endMs: number;
}

/** Expected replies: first tag and exact payload length of each of the two replies. */
export interface Expectation {
  tags: [number, number];
  lengths: [number, number];
}

/**
 * Plays one HTTP request's ext_proc stream. Resolves after the reply to the body (the point where Envoy
 * forwards the request upstream) and resets the stream. Rejects on a gRPC error, an early end, or (with
 * `expect`) a reply of the wrong kind or size.
 */
export function exchange(session: http2.ClientHttp2Session, ex: Exchange, expect?: Expectation, close: 'graceful' | 'reset' = 'graceful'): Promise<ExchangeResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request(REQUEST_HEADERS, { endStream: false });
    const replies: Buffer[] = [];
    let pending: Buffer | undefined;
    let settled = false;
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(msg));
    };
    stream.on('response', (h) => {
      if (h[':status'] !== 200) fail(`HTTP ${String(h[':status'])}`);
      // Trailers-only response: the server ended the stream with a gRPC error before any reply.
      else if (h['grpc-status'] !== undefined) fail(`grpc-status ${String(h['grpc-status'])} ${String(h['grpc-message'] ?? '')}`);
    });
    stream.on('trailers', (t) => fail(`stream ended by server: grpc-status ${String(t['grpc-status'])} ${String(t['grpc-message'] ?? '')}`));
    stream.on('end', () => fail(`stream ended by server after ${replies.length} replies`));
    stream.on('error', (err: Error) => fail(err.message));
    stream.on('close', () => fail(`stream closed after ${replies.length} replies`));
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        const msg = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        const i = replies.length;
        replies.push(msg);
        if (i > 1) return fail('more than two replies');
        if (expect && (msg[0] !== expect.tags[i] || len !== expect.lengths[i])) {
          return fail(`reply ${i + 1}: tag 0x${(msg[0] ?? 0).toString(16)} length ${len}, expected tag 0x${(expect.tags[i] ?? 0).toString(16)} length ${expect.lengths[i]}`);
        }
        if (i === 0) {
          if (msg[0] === TAG.immediate_response) return fail('immediate_response to request_headers');
          stream.write(ex.bodyFrame);
        } else {
          settled = true;
          const endMs = performance.now();
          if (close === 'reset') stream.close(http2.constants.NGHTTP2_CANCEL);
          else stream.end(); // half-close; the server answers with its trailers and the stream closes
          return resolve({ replies, endMs });
        }
      }
      if (buf.length > 0) pending = Buffer.from(buf);
    });
    stream.write(ex.headersFrame);
  });
}

/** Runs one exchange and decodes both replies (reference run, before the load). */
export async function referenceExchange(session: http2.ClientHttp2Session, ex: Exchange): Promise<{ decoded: ProcessingResponse[]; expect: Expectation }> {
  const { replies } = await exchange(session, ex);
  const method = processMethod();
  const decoded = replies.map((r) => method.responseDeserialize(r));
  return { decoded, expect: { tags: [replies[0]![0]!, replies[1]![0]!], lengths: [replies[0]!.length, replies[1]!.length] } };
}
