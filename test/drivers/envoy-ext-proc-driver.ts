import * as grpc from '@grpc/grpc-js';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { HeaderValue } from '../../src/proto/gen/envoy/config/core/v3/base.js';
import type { ProcessingRequest, ProcessingResponse, CommonResponse, HeaderMutation } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './proto-struct.js';

type HeaderMode = 'SEND' | 'SKIP' | 'DEFAULT';
type BodyMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';
type Headers = Array<[string, string]>;

interface ProcessingMode {
  requestHeaderMode: HeaderMode;
  responseHeaderMode: HeaderMode;
  requestBodyMode: BodyMode;
  responseBodyMode: BodyMode;
  requestTrailerMode: HeaderMode;
  responseTrailerMode: HeaderMode;
}

/** The ext_proc filter config the driver plays (ExternalProcessor fields; defaults are Envoy's proto defaults). */
export interface ExtProcFilterConfig {
  requestHeaderMode?: HeaderMode;
  requestBodyMode?: BodyMode;
  requestTrailerMode?: HeaderMode;
  responseHeaderMode?: HeaderMode;
  responseBodyMode?: BodyMode;
  responseTrailerMode?: HeaderMode;
  allowModeOverride?: boolean;
  observabilityMode?: boolean;
  /** The decoder buffer limit: the listener's `per_connection_buffer_limit_bytes` (Envoy default 1 MiB). */
  bufferLimit?: number;
  /** `metadata_options.forwarding_namespaces.untyped`: dynamic-metadata namespaces sent as `metadata_context`. */
  forwardingNamespaces?: string[];
  /** `metadata_options.receiving_namespaces.untyped`: namespaces a reply's `dynamic_metadata` may write. */
  receivingNamespaces?: string[];
  /** `request_attributes`: attribute names evaluated and sent with the first request-side message. */
  requestAttributes?: string[];
  /** `message_timeout` in ms (Envoy default 200); undefined: the driver waits up to 10 s (no timing in tests). */
  messageTimeoutMs?: number;
  failureModeAllow?: boolean;
  /** `status_on_error` (Envoy default 500). */
  statusOnError?: number;
  /**
   * Envoy < 1.34 copies a mode_override as a whole, so an unset (DEFAULT) header mode in it means SEND.
   * Default true: the older, inconvenient behaviour that deployed gateways still run.
   */
  legacyDefaultIsSend?: boolean;
}

export interface ExtProcRequest {
  /** Request headers including pseudo-headers, in order; keys are lower-cased as Envoy does. */
  headers: Headers;
  /** The body as the chunks Envoy receives them (STREAMED sends one message per chunk). */
  body?: Buffer[];
  /** Request trailers (HTTP/2 or chunked HTTP/1): the last data frame then has end_stream false. */
  trailers?: Headers;
  /** The stream's dynamic metadata when this filter runs (e.g. what ext_authz stored), by namespace. */
  metadata?: Record<string, Record<string, unknown>>;
  /** Values of the attributes Envoy can evaluate (`source.address`, `source.principal`, `request.id`…). */
  attributes?: Record<string, unknown>;
  /** Response headers from the upstream, for the response side (sent only if the mode in force says so). */
  responseHeaders?: Headers;
  /**
   * How much of the body is in Envoy before the headers reply arrives. `flow_control` (default): chunks up to the
   * buffer limit, the way a fast client on loopback delivers them; `after_headers_reply`: a slow client.
   */
  bodyTiming?: 'flow_control' | 'after_headers_reply';
}

export interface UpstreamRequest {
  headers: Headers;
  body: Buffer;
  trailers?: Headers;
}

export interface ExtProcOutcome {
  /** `forwarded`: the request continues upstream; `local_reply`: an immediate response or an error reply. */
  result: 'forwarded' | 'local_reply';
  status?: number;
  /** Headers and body that would leave the gateway (or of the local reply). */
  headers: Headers;
  body: Buffer;
  /** The upstream request exactly as Envoy would forward it (only when forwarded). */
  upstream?: UpstreamRequest;
  /** Mutations Envoy ignored (pseudo-headers, host, x-envoy-*): its `rejected_header_mutations` counter. */
  rejectedMutations: string[];
  /** The request body mode in force after any mode_override. */
  bodyModeUsed: BodyMode;
  messagesSent: number;
  /** Every ProcessingRequest Envoy sent, in order. */
  sent: ProcessingRequest[];
  /** The kind of each message sent (`request_headers`, `request_body`, …), in order. */
  sentKinds: string[];
  /** Whether Envoy sent (or, without `responseHeaders`, would send) a response_headers message. */
  responseHeadersMessage: boolean;
  /** Response headers after the processor's reply, when the test gave `responseHeaders`. */
  responseHeaders?: Headers;
  /** False when the forwarded `content-length` differs from the forwarded body's length. */
  contentLengthConsistent: boolean;
  contentLengthMismatch?: { header: number; body: number };
  /** The stream's dynamic metadata after this filter (with what the processor wrote in receiving namespaces). */
  dynamicMetadata: Record<string, Record<string, unknown>>;
  /**
   * For a local reply that came after the headers were released (STREAMED): what the upstream had already received
   * when Envoy reset the upstream request. It never saw the end of the stream, but these bytes left the gateway.
   */
  upstreamBeforeReset?: UpstreamRequest;
  /** Who answered a local reply: the processor (immediate_response), the ext_proc filter (errors), or Envoy's filter manager (413). */
  localReplyOrigin?: 'processor' | 'filter' | 'envoy';
  error?: string;
}

/** envoy.type.v3.StatusCode names proto-loader hands back as strings. */
export const HTTP_STATUS_CODES: Record<string, number> = {
  Continue: 100, OK: 200, Created: 201, Accepted: 202, NoContent: 204, MovedPermanently: 301, Found: 302, NotModified: 304, TemporaryRedirect: 307, PermanentRedirect: 308,
  BadRequest: 400, Unauthorized: 401, PaymentRequired: 402, Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, NotAcceptable: 406, RequestTimeout: 408, Conflict: 409, Gone: 410,
  LengthRequired: 411, PreconditionFailed: 412, PayloadTooLarge: 413, URITooLong: 414, UnsupportedMediaType: 415, UnprocessableEntity: 422, Locked: 423, TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431, InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
};

export function statusNumber(raw: unknown): number {
  if (typeof raw === 'string') return HTTP_STATUS_CODES[raw] ?? (Number(raw) || 0);
  return Number(raw ?? 0);
}

// source/extensions/filters/http/ext_proc/mutation_utils.cc (with the default HeaderMutationRules): pseudo-headers,
// host and x-envoy-* cannot be changed by the processor; the change is counted and ignored.
const PROTECTED = (name: string) => name.startsWith(':') || name === 'host' || name.startsWith('x-envoy-');

const EXT_PROC = 'envoy.filters.http.ext_proc';

class ProcessorStreamError extends Error {
  constructor(
    message: string,
    readonly kind: 'grpc_error' | 'timeout' | 'closed_ok',
  ) {
    super(message);
  }
}

/**
 * Test driver that plays Envoy's ext_proc HTTP filter (source/extensions/filters/http/ext_proc/ext_proc.cc and
 * processor_state.cc) for one request: one stream per request, headers as `raw_value`, exactly one reply per message
 * in order, and the stream ended with a reset (the server sees CANCELLED). It reproduces what is inconvenient too:
 * content-length is removed only from the mode configured when the headers went out, a mode_override replaces the
 * whole mode (before Envoy 1.34 an unset header mode becomes SEND), a body that arrived before the headers reply goes
 * out as one message, and STREAMED chunks are forwarded as the processor returned them, nothing more.
 */
export class EnvoyExtProcDriver {
  private readonly client: grpc.Client & { Process: (md: grpc.Metadata, opts?: grpc.CallOptions) => grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse> };
  private readonly initialMetadata: Array<[string, string]>;

  /** `initialMetadata`: the grpc_service's initial_metadata, which Envoy's gRPC client adds to every stream. */
  constructor(port: number, opts: { initialMetadata?: Array<[string, string]> } = {}) {
    this.initialMetadata = opts.initialMetadata ?? [];
    const { grpcObject } = loadServiceProtos();
    const pkg = grpcObject.envoy as unknown as { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } };
    this.client = new pkg.service.ext_proc.v3.ExternalProcessor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  }

  async process(req: ExtProcRequest, cfg: ExtProcFilterConfig = {}): Promise<ExtProcOutcome> {
    const configured: ProcessingMode = {
      requestHeaderMode: cfg.requestHeaderMode ?? 'SEND',
      responseHeaderMode: cfg.responseHeaderMode ?? 'SEND',
      requestBodyMode: cfg.requestBodyMode ?? 'NONE',
      responseBodyMode: cfg.responseBodyMode ?? 'NONE',
      requestTrailerMode: cfg.requestTrailerMode ?? 'SKIP',
      responseTrailerMode: cfg.responseTrailerMode ?? 'SKIP',
    };
    const limit = cfg.bufferLimit ?? 1024 * 1024;
    const legacy = cfg.legacyDefaultIsSend ?? true;
    const dynamicMetadata: Record<string, Record<string, unknown>> = structuredClone(req.metadata ?? {});
    const sent: ProcessingRequest[] = [];
    const rejected: string[] = [];
    let mode = { ...configured };
    let headers: Headers = req.headers.map(([k, v]) => [k.toLowerCase(), v]);
    let trailers: Headers | undefined = req.trailers?.map(([k, v]) => [k.toLowerCase(), v]);
    const chunks = (req.body ?? []).filter((c) => c.length > 0);
    const hasBody = chunks.length > 0;
    const hasTrailers = (trailers?.length ?? 0) > 0;

    const md = new grpc.Metadata();
    for (const [k, v] of this.initialMetadata) md.set(k.toLowerCase(), v);
    const stream = this.client.Process(md, { deadline: Date.now() + 30_000 });
    const inbox = new Inbox(stream);
    let requestAttributesSent = false;
    const send = (msg: ProcessingRequest, kind: string) => {
      // ext_proc.cc addDynamicMetadata: only the forwarding namespaces, from the stream's dynamic metadata.
      const forwarded = Object.fromEntries((cfg.forwardingNamespaces ?? []).filter((ns) => dynamicMetadata[ns]).map((ns) => [ns, toProtoStruct(dynamicMetadata[ns]!)]));
      const full = { ...msg, metadata_context: { filter_metadata: forwarded } } as ProcessingRequest & { attributes?: Record<string, ProtoStruct> };
      // ext_proc.cc addAttributes: request_attributes once, with the first request-side message, under the filter name.
      if (kind.startsWith('request_') && !requestAttributesSent && (cfg.requestAttributes?.length ?? 0) > 0) {
        full.attributes = { [EXT_PROC]: toProtoStruct(Object.fromEntries(cfg.requestAttributes!.filter((a) => req.attributes?.[a] !== undefined).map((a) => [a, req.attributes![a]]))) };
        requestAttributesSent = true;
      }
      sent.push(full);
      kinds.push(kind);
      stream.write(full);
    };
    const kinds: string[] = [];
    const timeoutMs = cfg.messageTimeoutMs ?? 10_000;
    const next = () => inbox.next(timeoutMs);
    const absorbMetadata = (reply: ProcessingResponse) => {
      // ext_proc.cc setDynamicMetadata: only namespaces listed in receiving_namespaces are written.
      const dm = (reply as { dynamic_metadata?: ProtoStruct }).dynamic_metadata;
      if (!dm) return;
      for (const [ns, value] of Object.entries(fromProtoStruct(dm))) {
        if ((cfg.receivingNamespaces ?? []).includes(ns) && value && typeof value === 'object') dynamicMetadata[ns] = { ...(dynamicMetadata[ns] ?? {}), ...(value as Record<string, unknown>) };
      }
    };
    const headerMap = (h: Headers) => ({ headers: h.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) });
    let responseHeadersMessage = false;
    let responseHeadersOut: Headers | undefined;
    // What the router already sent upstream (STREAMED releases the headers, then each answered chunk).
    let released: { headers: Headers; body: Buffer[] } | undefined;

    const finish = (o: { result: 'forwarded' | 'local_reply'; status?: number; headers: Headers; body: Buffer; trailers?: Headers; error?: string; origin?: 'processor' | 'envoy' }): ExtProcOutcome => {
      stream.cancel(); // Envoy resets the stream when the request is done
      inbox.close();
      const cl = o.result === 'forwarded' ? o.headers.find(([k]) => k === 'content-length') : undefined;
      const mismatch = cl && Number(cl[1]) !== o.body.length ? { header: Number(cl[1]), body: o.body.length } : undefined;
      return {
        result: o.result,
        ...(o.status !== undefined ? { status: o.status } : {}),
        headers: o.headers,
        body: o.body,
        ...(o.result === 'forwarded' ? { upstream: { headers: o.headers, body: o.body, ...(o.trailers?.length ? { trailers: o.trailers } : {}) } } : {}),
        rejectedMutations: rejected,
        bodyModeUsed: mode.requestBodyMode,
        messagesSent: sent.length,
        sent,
        sentKinds: kinds,
        responseHeadersMessage,
        ...(responseHeadersOut ? { responseHeaders: responseHeadersOut } : {}),
        contentLengthConsistent: !mismatch,
        ...(mismatch ? { contentLengthMismatch: mismatch } : {}),
        dynamicMetadata,
        ...(o.result === 'local_reply' ? { localReplyOrigin: o.origin ?? 'filter' } : {}),
        ...(o.result === 'local_reply' && released ? { upstreamBeforeReset: { headers: released.headers, body: Buffer.concat(released.body) } } : {}),
        ...(o.error ? { error: o.error } : {}),
      };
    };
    const errorReply = (message: string) => finish({ result: 'local_reply', status: cfg.statusOnError ?? 500, headers: [], body: Buffer.alloc(0), error: message });
    // The response side (encodeHeaders) runs after the upstream answered; its headers message is sent unless SKIP.
    const responseSide = async (): Promise<string | undefined> => {
      if (mode.responseHeaderMode === 'SKIP') return undefined;
      responseHeadersMessage = true;
      if (!req.responseHeaders) return undefined;
      send({ response_headers: { headers: headerMap(req.responseHeaders), end_of_stream: true } } as ProcessingRequest, 'response_headers');
      const reply = await next();
      if (!reply.response_headers) return `out-of-order reply to response_headers: ${Object.keys(reply).join(',')}`;
      const applied = applyHeaderMutation(req.responseHeaders, reply.response_headers.response?.header_mutation, rejected, false);
      if (typeof applied === 'string') return applied;
      responseHeadersOut = applied;
      return undefined;
    };
    const forward = async (body: Buffer): Promise<ExtProcOutcome> => {
      const problem = await responseSide();
      if (problem) return errorReply(problem);
      return finish({ result: 'forwarded', headers, body, ...(trailers ? { trailers } : {}) });
    };

    if (cfg.observabilityMode) {
      send({ request_headers: { headers: headerMap(headers), end_of_stream: !hasBody && !hasTrailers }, observability_mode: true } as ProcessingRequest, 'request_headers');
      if (mode.requestBodyMode === 'STREAMED') chunks.forEach((c, i) => send({ request_body: { body: c, end_of_stream: i === chunks.length - 1 && !hasTrailers }, observability_mode: true } as ProcessingRequest, 'request_body'));
      await new Promise((r) => setTimeout(r, 50));
      const unexpected = inbox.pending();
      return finish({ result: 'forwarded', headers, body: Buffer.concat(chunks), ...(trailers ? { trailers } : {}), ...(unexpected ? { error: `server replied ${unexpected} time(s) in observability mode` } : {}) });
    }

    // processor_state.h shouldRemoveContentLength(): STREAMED, BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED, or BUFFERED with headers SKIP.
    const shouldRemoveContentLength = (m: ProcessingMode) =>
      m.requestBodyMode === 'STREAMED' || m.requestBodyMode === 'BUFFERED_PARTIAL' || m.requestBodyMode === 'FULL_DUPLEX_STREAMED' || (m.requestBodyMode === 'BUFFERED' && m.requestHeaderMode === 'SKIP');

    // How many chunks Envoy holds when the headers reply comes (ext_proc.cc onData: held with StopIterationAndWatermark).
    let arrived = 0;
    if ((req.bodyTiming ?? 'flow_control') === 'flow_control') {
      let bytes = 0;
      while (arrived < chunks.length && bytes + chunks[arrived]!.length <= limit) bytes += chunks[arrived++]!.length;
    }
    // complete_body_available_: end_stream seen (the last data frame, or the trailers when there are any).
    const completeBeforeReply = hasBody && arrived === chunks.length;

    try {
      if (configured.requestHeaderMode !== 'SKIP') {
        send({ request_headers: { headers: headerMap(headers), end_of_stream: !hasBody && !hasTrailers } } as ProcessingRequest, 'request_headers');
        // ext_proc.cc decodeHeaders: the content-length decision is taken here, from the mode in force now (the configured one).
        if (shouldRemoveContentLength(mode)) headers = headers.filter(([k]) => k !== 'content-length');
        const reply = await next();
        absorbMetadata(reply);
        if (reply.immediate_response) return finish(immediate(reply));
        // ext_proc.cc onReceiveMessage: mode_override only with allow_mode_override, while waiting for a headers reply.
        if (reply.mode_override && cfg.allowModeOverride) mode = overrideMode(reply.mode_override as Record<string, string | undefined>, configured, legacy);
        if (!reply.request_headers) return errorReply(`spurious message: expected request_headers, got ${Object.keys(reply).join(',')}`);
        const common = reply.request_headers.response;
        // processor_state.cc processHeaderMutation: a content-length set is skipped when the (new) mode removes it.
        const applied = applyHeaderMutation(headers, common?.header_mutation, rejected, shouldRemoveContentLength(mode));
        if (typeof applied === 'string') return errorReply(applied);
        headers = applied;
        if (common?.status === 'CONTINUE_AND_REPLACE') {
          // processor_state.cc handleHeadersResponse: the body is replaced, content-length removed, nothing more is sent.
          if (common.body_mutation) {
            headers = headers.filter(([k]) => k !== 'content-length');
            return forward(mutateBody(Buffer.concat(chunks), common) ?? Buffer.alloc(0));
          }
          return forward(Buffer.concat(chunks));
        }
      } else if (shouldRemoveContentLength(mode)) {
        headers = headers.filter(([k]) => k !== 'content-length');
      }
      const sendTrailers = () => mode.requestTrailerMode === 'SEND' && hasTrailers;
      const trailersRound = async (): Promise<string | undefined> => {
        if (!sendTrailers()) return undefined;
        send({ request_trailers: { trailers: headerMap(trailers!) } } as ProcessingRequest, 'request_trailers');
        const reply = await next();
        absorbMetadata(reply);
        if (reply.immediate_response) return 'immediate';
        if (!reply.request_trailers) return `spurious message: expected request_trailers, got ${Object.keys(reply).join(',')}`;
        // A TrailersResponse carries only a header mutation: it cannot add body bytes.
        const applied = applyHeaderMutation(trailers!, reply.request_trailers.header_mutation, rejected, false);
        if (typeof applied === 'string') return applied;
        trailers = applied;
        return undefined;
      };
      const bodyMode = mode.requestBodyMode;
      if (!hasBody || bodyMode === 'NONE') {
        if (!hasBody && sendTrailers()) {
          const t = await trailersRound();
          if (t === 'immediate') return finish(immediate(inbox.last!));
          if (t) return errorReply(t);
        }
        return forward(Buffer.concat(chunks));
      }

      const bufferedReply = async (body: Buffer, endOfStream: boolean): Promise<ExtProcOutcome | Buffer> => {
        send({ request_body: { body, end_of_stream: endOfStream } } as ProcessingRequest, 'request_body');
        const reply = await next();
        absorbMetadata(reply);
        if (reply.immediate_response) return finish(immediate(reply));
        if (!reply.request_body) return errorReply(`spurious message: expected request_body, got ${Object.keys(reply).join(',')}`);
        const common = reply.request_body.response;
        // processor_state.cc handleBufferedBodyCallback: header mutation first, then the content-length check, then the body.
        const applied = applyHeaderMutation(headers, common?.header_mutation, rejected, shouldRemoveContentLength(mode));
        if (typeof applied === 'string') return errorReply(applied);
        headers = applied;
        const mutated = mutateBody(body, common);
        if (common?.body_mutation) {
          const cl = headers.find(([k]) => k === 'content-length');
          // processor_state.cc validateContentLength compares against body_mutation().body().size().
          const newLength = common.body_mutation.body ? Buffer.from(common.body_mutation.body).length : 0;
          if (cl && /^\d+$/.test(cl[1]) && Number(cl[1]) !== newLength) return errorReply('mismatch between content length and the length of the mutated body');
        }
        return mutated ?? body;
      };

      if (completeBeforeReply) {
        // processor_state.cc handleHeadersResponse: the whole body arrived while waiting, so it goes out as ONE message
        // (whatever the body mode) and its reply is handled as a buffered body; end_of_stream is false if trailers exist.
        const r = await bufferedReply(Buffer.concat(chunks), !hasTrailers);
        if (!Buffer.isBuffer(r)) return r;
        const t = await trailersRound();
        if (t === 'immediate') return finish(immediate(inbox.last!));
        if (t) return errorReply(t);
        return forward(r);
      }

      if (bodyMode === 'BUFFERED' || bodyMode === 'BUFFERED_PARTIAL') {
        const total = Buffer.concat(chunks);
        // filter_manager.cc ActiveStreamDecoderFilter::requestDataTooLarge: buffering past the decoder limit is a 413.
        if (bodyMode === 'BUFFERED' && total.length > limit) return finish({ result: 'local_reply', status: 413, headers: [], body: Buffer.from('Payload Too Large'), origin: 'envoy', error: `body of ${total.length} bytes exceeds the decoder buffer limit of ${limit}` });
        const part = bodyMode === 'BUFFERED' ? total : total.subarray(0, limit);
        const r = await bufferedReply(part, part.length === total.length && !hasTrailers);
        if (!Buffer.isBuffer(r)) return r;
        const t = await trailersRound();
        if (t === 'immediate') return finish(immediate(inbox.last!));
        if (t) return errorReply(t);
        return forward(Buffer.concat([r, total.subarray(part.length)]));
      }

      // STREAMED: what was held goes out as one chunk (sendBufferedDataInStreamedMode), then one message per chunk, all
      // sent without waiting (handleDataStreamedModeBase); with trailers no chunk carries end_of_stream.
      const pieces: Buffer[] = [];
      if (arrived > 0) pieces.push(Buffer.concat(chunks.slice(0, arrived)));
      pieces.push(...chunks.slice(arrived));
      pieces.forEach((c, i) => send({ request_body: { body: c, end_of_stream: i === pieces.length - 1 && !hasTrailers } } as ProcessingRequest, 'request_body'));
      const out: Buffer[] = [];
      // processor_state.cc handleHeadersResponse (STREAMED): continueIfNecessary releases the headers to the router,
      // and handleStreamedBodyResponse injects each answered chunk into the filter chain, i.e. upstream.
      released = { headers: headers.slice(), body: out };
      for (const piece of pieces) {
        const reply = await next();
        absorbMetadata(reply);
        if (reply.immediate_response) return finish(immediate(reply));
        if (!reply.request_body) return errorReply(`spurious message: expected request_body, got ${Object.keys(reply).join(',')}`);
        // processor_state.cc handleStreamedBodyResponse: the chunk as replaced; header mutations here are not applied.
        out.push(mutateBody(piece, reply.request_body.response) ?? piece);
      }
      // processor_state.cc finalizeBodyResponse: trailers go to the processor only once every chunk was answered.
      const t = await trailersRound();
      if (t === 'immediate') return finish(immediate(inbox.last!));
      if (t) return errorReply(t);
      return forward(Buffer.concat(out));
    } catch (err) {
      const e = err as ProcessorStreamError;
      if (e.kind === 'timeout') return cfg.failureModeAllow ? finish({ result: 'forwarded', headers, body: Buffer.concat(chunks) }) : finish({ result: 'local_reply', status: 504, headers: [], body: Buffer.alloc(0), error: e.message });
      // ext_proc.cc onGrpcClose: a clean close ends processing and the request continues unprocessed from there.
      if (e.kind === 'closed_ok') return finish({ result: 'forwarded', headers, body: Buffer.concat(chunks), ...(trailers ? { trailers } : {}), error: e.message });
      // ext_proc.cc onGrpcError: status_on_error (default 500) unless failure_mode_allow.
      if (cfg.failureModeAllow) return finish({ result: 'forwarded', headers, body: Buffer.concat(chunks), ...(trailers ? { trailers } : {}), error: e.message });
      return errorReply(e.message);
    }
  }

  close(): void {
    this.client.close();
  }
}

/** Replies in arrival order, with the end of the stream reported as an error of the right kind. */
class Inbox {
  private readonly replies: ProcessingResponse[] = [];
  private waiter: ((r: ProcessingResponse | ProcessorStreamError) => void) | undefined;
  private ended: ProcessorStreamError | undefined;
  last: ProcessingResponse | undefined;

  constructor(stream: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>) {
    stream.on('data', (r: ProcessingResponse) => {
      if (this.waiter) this.take()(r);
      else this.replies.push(r);
    });
    stream.on('error', (err: grpc.ServiceError) => this.end(new ProcessorStreamError(`processor stream failed: ${err.code} ${err.details ?? err.message}`, 'grpc_error')));
    stream.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) this.end(new ProcessorStreamError('processor closed the stream', 'closed_ok'));
    });
  }

  pending(): number {
    return this.replies.length;
  }

  next(timeoutMs: number): Promise<ProcessingResponse> {
    const r = this.replies.shift();
    if (r) return Promise.resolve((this.last = r));
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ProcessorStreamError(`no reply within message_timeout (${timeoutMs} ms)`, 'timeout'));
      }, timeoutMs);
      this.waiter = (x) => {
        clearTimeout(timer);
        if (x instanceof ProcessorStreamError) reject(x);
        else resolve((this.last = x));
      };
    });
  }

  close(): void {
    this.end(new ProcessorStreamError('stream reset by Envoy', 'grpc_error'));
  }

  private take(): (r: ProcessingResponse | ProcessorStreamError) => void {
    const w = this.waiter!;
    this.waiter = undefined;
    return w;
  }

  private end(e: ProcessorStreamError): void {
    if (this.ended) return;
    this.ended = e;
    if (this.waiter) this.take()(e);
  }
}

/**
 * ext_proc.cc onReceiveMessage → setProcessingMode on both directions. Envoy ≥ 1.34 (effectiveModeOverride) keeps the
 * configured header/trailer modes where the override leaves them DEFAULT; before, the override replaced the whole mode,
 * and processor_state.cc setProcessingModeInternal reads DEFAULT as "not SKIP" = send headers, "not SEND" = no trailers.
 */
function overrideMode(o: Record<string, string | undefined>, configured: ProcessingMode, legacy: boolean): ProcessingMode {
  const header = (field: string, k: keyof ProcessingMode): HeaderMode => {
    const v = (o[field] ?? 'DEFAULT') as HeaderMode;
    return v === 'DEFAULT' && !legacy ? (configured[k] as HeaderMode) : v;
  };
  return {
    requestHeaderMode: configured.requestHeaderMode,
    responseHeaderMode: header('response_header_mode', 'responseHeaderMode'),
    requestTrailerMode: header('request_trailer_mode', 'requestTrailerMode'),
    responseTrailerMode: header('response_trailer_mode', 'responseTrailerMode'),
    // Body modes are always explicit: unset is NONE.
    requestBodyMode: (o.request_body_mode ?? 'NONE') as BodyMode,
    responseBodyMode: (o.response_body_mode ?? 'NONE') as BodyMode,
  };
}

function immediate(reply: ProcessingResponse): { result: 'local_reply'; status: number; headers: Headers; body: Buffer; origin: 'processor' } {
  const ir = reply.immediate_response!;
  const code = statusNumber((ir.status as { code?: unknown } | undefined)?.code);
  const headers: Headers = (ir.headers?.set_headers ?? []).map((h) => [h.header?.key ?? '', headerValue(h.header) ?? '']);
  // ext_proc.cc sendImmediateResponse: a status below 200 falls back to 200.
  return { result: 'local_reply', status: code >= 200 ? code : 200, headers, body: Buffer.from(ir.body ?? []), origin: 'processor' };
}

function headerValue(h: HeaderValue | undefined): string | undefined {
  if (!h) return undefined;
  // envoy#31555: only raw_value counts; `value` alone yields an empty header.
  if (h.raw_value && h.raw_value.length > 0) return Buffer.from(h.raw_value).toString('latin1');
  return '';
}

/** mutation_utils.cc applyHeaderMutations: removals, then sets; protected names ignored; content-length skipped on request. */
function applyHeaderMutation(headers: Headers, m: HeaderMutation | undefined, rejected: string[], removeContentLength: boolean): Headers | string {
  if (!m) return headers;
  let out = headers.slice();
  for (const name of m.remove_headers ?? []) {
    const key = name.toLowerCase();
    if (!/^:?[a-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) return `Invalid character in remove_headers mutation.`;
    if (PROTECTED(key)) rejected.push(`remove ${key}`);
    else out = out.filter(([k]) => k !== key);
  }
  for (const opt of m.set_headers ?? []) {
    const key = (opt.header?.key ?? '').toLowerCase();
    if (opt.header?.value && opt.header.raw_value && opt.header.raw_value.length > 0) return `header ${key} sets both value and raw_value`;
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(key.replace(/^:/, ''))) return `invalid header name "${key}"`;
    if (PROTECTED(key)) {
      rejected.push(`set ${key}`);
      continue;
    }
    if (key === 'content-length' && removeContentLength) continue;
    const value = headerValue(opt.header) ?? '';
    if (/[\r\n\0]/.test(value)) return `Invalid character in set_headers mutation.`;
    const append = (opt as { append?: { value?: boolean } }).append?.value === true;
    if (append) out.push([key, value]);
    else out = [...out.filter(([k]) => k !== key), [key, value]];
  }
  return out;
}

function mutateBody(_original: Buffer, common: CommonResponse | undefined): Buffer | undefined {
  const m = common?.body_mutation;
  if (!m) return undefined;
  if (m.clear_body) return Buffer.alloc(0);
  if (m.body !== undefined) return Buffer.from(m.body);
  return undefined;
}
