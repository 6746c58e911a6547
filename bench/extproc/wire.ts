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
 * (src/proto/load.ts) and replayed over a minimal HTTP/2 connection (h2conn.ts), so the load generator
 * spends little CPU and makes little garbage per request (Envoy's C++ client is cheaper still). Replies
 * are checked by their first protobuf tag (which response it is) and their exact length (learned from a
 * decoded reference exchange), not decoded.
 */
import { loadServiceProtos } from '../../src/proto/load.js';
import { H2Conn } from './h2conn.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';

export const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

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

/** An HTTP/2 connection to the ext_proc server (see h2conn.ts), with Envoy-like windows. */
export function connect(port: number): Promise<H2Conn> {
  return H2Conn.connect(port, PROCESS_PATH);
}

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
 * Plays one HTTP request's ext_proc stream. Resolves at the reply to the body (the point where Envoy
 * forwards the request upstream) and ends the stream (`close`). Rejects on a gRPC error, an early end, or
 * (with `expect`) a reply of the wrong kind or size.
 */
export function exchange(conn: H2Conn, ex: Exchange, expect?: Expectation, close: 'graceful' | 'reset' = 'graceful'): Promise<ExchangeResult> {
  return conn.stream({
    first: ex.headersFrame,
    close,
    onReply(i, msg) {
      if (i > 1) return new Error('more than two replies');
      if (expect && (msg[0] !== expect.tags[i] || msg.length !== expect.lengths[i])) {
        return new Error(`reply ${i + 1}: tag 0x${(msg[0] ?? 0).toString(16)} length ${msg.length}, expected tag 0x${(expect.tags[i] ?? 0).toString(16)} length ${expect.lengths[i]}`);
      }
      if (i === 0) return msg[0] === TAG.immediate_response ? new Error('immediate_response to request_headers') : ex.bodyFrame;
      return null;
    },
  });
}

/** Runs one exchange and decodes both replies (reference run, before the load). */
export async function referenceExchange(session: H2Conn, ex: Exchange): Promise<{ decoded: ProcessingResponse[]; expect: Expectation }> {
  const { replies } = await exchange(session, ex);
  const method = processMethod();
  const decoded = replies.map((r) => method.responseDeserialize(r));
  return { decoded, expect: { tags: [replies[0]![0]!, replies[1]![0]!], lengths: [replies[0]!.length, replies[1]!.length] } };
}
