import * as grpc from '@grpc/grpc-js';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { HeaderValue } from '../../src/proto/gen/envoy/config/core/v3/base.js';
import type { ProcessingRequest, ProcessingResponse, CommonResponse, HeaderMutation } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';

type HeaderMode = 'SEND' | 'SKIP' | 'DEFAULT';
type BodyMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL';

/** The ext_proc filter config the driver plays (the fields Tollgate's xDS sets). */
export interface ExtProcFilterConfig {
  requestHeaderMode?: HeaderMode;
  requestBodyMode?: BodyMode;
  allowModeOverride?: boolean;
  observabilityMode?: boolean;
  /** Envoy's per-stream buffer limit for BUFFERED (over it, the client gets 413). */
  bufferLimit?: number;
}

export interface ExtProcRequest {
  /** Request headers including pseudo-headers, in order; keys are lower-cased as Envoy does. */
  headers: Array<[string, string]>;
  /** The body as the chunks Envoy receives them (STREAMED sends one message per chunk). */
  body?: Buffer[];
}

export interface ExtProcOutcome {
  /** `forwarded`: the request continues upstream; `local_reply`: an immediate response or an error reply. */
  result: 'forwarded' | 'local_reply';
  status?: number;
  /** Headers and body that would leave the gateway (or of the local reply). */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Mutations Envoy ignored (pseudo-headers, host, x-envoy-*): its `rejected_header_mutations` counter. */
  rejectedMutations: string[];
  /** What Envoy asked for after any mode_override. */
  bodyModeUsed: BodyMode;
  messagesSent: number;
  error?: string;
}

/** envoy.type.v3.StatusCode names proto-loader hands back as strings. */
const HTTP_CODES: Record<string, number> = { OK: 200, BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, PayloadTooLarge: 413, InternalServerError: 500, ServiceUnavailable: 503 };

const PROTECTED = (name: string) => name.startsWith(':') || name === 'host' || name.startsWith('x-envoy-');

/**
 * Test driver that plays Envoy's ext_proc HTTP filter (source/extensions/filters/http/ext_proc/ext_proc.cc)
 * for one request: one stream per request, headers as `raw_value`, exactly one reply expected per
 * message and in order, mode_override honoured only in a headers reply and only with
 * allow_mode_override, header mutations to pseudo-headers/host/x-envoy-* ignored, content-length
 * checked against the mutated body in BUFFERED with headers SEND (a mismatch is a local 500), and the
 * stream ended with a reset (the server sees CANCELLED) rather than a half-close.
 */
export class EnvoyExtProcDriver {
  private readonly client: grpc.Client & { Process: (opts?: grpc.CallOptions) => grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse> };

  constructor(port: number) {
    const { grpcObject } = loadServiceProtos();
    const pkg = grpcObject.envoy as unknown as { service: { ext_proc: { v3: { ExternalProcessor: grpc.ServiceClientConstructor } } } };
    this.client = new pkg.service.ext_proc.v3.ExternalProcessor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  }

  async process(req: ExtProcRequest, cfg: ExtProcFilterConfig = {}): Promise<ExtProcOutcome> {
    const stream = this.client.Process({ deadline: Date.now() + 10_000 });
    const replies: ProcessingResponse[] = [];
    const waiters: Array<(r: ProcessingResponse | Error) => void> = [];
    let streamError: Error | undefined;
    stream.on('data', (r: ProcessingResponse) => {
      const w = waiters.shift();
      if (w) w(r);
      else replies.push(r);
    });
    stream.on('error', (err: Error) => {
      streamError = err;
      for (const w of waiters.splice(0)) w(err);
    });
    stream.on('end', () => {
      for (const w of waiters.splice(0)) w(new Error('stream closed by server'));
    });
    const next = () =>
      new Promise<ProcessingResponse>((resolve, reject) => {
        const r = replies.shift();
        if (r) return resolve(r);
        if (streamError) return reject(streamError);
        waiters.push((x) => (x instanceof Error ? reject(x) : resolve(x)));
      });

    let headers = req.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    let body: Buffer = Buffer.concat(req.body ?? []);
    const chunks = req.body ?? [];
    const hasBody = body.length > 0;
    let bodyMode: BodyMode = cfg.requestBodyMode ?? 'NONE';
    const rejected: string[] = [];
    let sent = 0;
    const send = (msg: ProcessingRequest) => {
      sent++;
      stream.write(msg);
    };
    const finish = (o: Omit<ExtProcOutcome, 'rejectedMutations' | 'bodyModeUsed' | 'messagesSent'>): ExtProcOutcome => {
      stream.cancel(); // Envoy resets the stream when the request is done
      return { ...o, rejectedMutations: rejected, bodyModeUsed: bodyMode, messagesSent: sent };
    };
    const headerMap = () => ({ headers: headers.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) });

    if (cfg.observabilityMode) {
      send({ request_headers: { headers: headerMap(), end_of_stream: !hasBody }, observability_mode: true } as ProcessingRequest);
      if (bodyMode === 'STREAMED') chunks.forEach((c, i) => send({ request_body: { body: c, end_of_stream: i === chunks.length - 1 }, observability_mode: true } as ProcessingRequest));
      await new Promise((r) => setTimeout(r, 50));
      const unexpected = replies.length;
      return finish({ result: 'forwarded', headers, body, ...(unexpected ? { error: `server replied ${unexpected} time(s) in observability mode` } : {}) });
    }

    try {
      if ((cfg.requestHeaderMode ?? 'SEND') !== 'SKIP') {
        send({ request_headers: { headers: headerMap(), end_of_stream: !hasBody } });
        const reply = await next();
        if (reply.immediate_response) return finish(immediate(reply));
        if (!reply.request_headers) return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: `out-of-order reply to request_headers: ${Object.keys(reply).join(',')}` });
        const common = reply.request_headers.response;
        const applied = applyHeaderMutation(headers, common?.header_mutation, rejected);
        if (typeof applied === 'string') return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: applied });
        headers = applied;
        if (common?.status === 'CONTINUE_AND_REPLACE' && common.body_mutation) {
          body = common.body_mutation.clear_body ? Buffer.alloc(0) : Buffer.from(common.body_mutation.body ?? []);
          return finish({ result: 'forwarded', headers, body });
        }
        if (reply.mode_override && cfg.allowModeOverride && reply.mode_override.request_body_mode) bodyMode = reply.mode_override.request_body_mode as BodyMode;
      }
      if (!hasBody || bodyMode === 'NONE') return finish({ result: 'forwarded', headers, body });

      if (bodyMode === 'BUFFERED' || bodyMode === 'BUFFERED_PARTIAL') {
        const limit = cfg.bufferLimit ?? 1024 * 1024;
        if (bodyMode === 'BUFFERED' && body.length > limit) return finish({ result: 'local_reply', status: 413, headers: [], body: Buffer.from('Payload Too Large') });
        const part = body.subarray(0, limit);
        send({ request_body: { body: part, end_of_stream: part.length === body.length } });
        const reply = await next();
        if (reply.immediate_response) return finish(immediate(reply));
        if (!reply.request_body) return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: 'out-of-order reply to request_body' });
        const common = reply.request_body.response;
        const applied = applyHeaderMutation(headers, common?.header_mutation, rejected);
        if (typeof applied === 'string') return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: applied });
        headers = applied;
        const mutated = mutateBody(body, common);
        if (mutated && (cfg.requestHeaderMode ?? 'SEND') === 'SEND' && bodyMode === 'BUFFERED') {
          // envoy#28515: in BUFFERED with headers SEND the processor must fix content-length itself.
          const cl = headers.find(([k]) => k === 'content-length');
          if (cl && Number(cl[1]) !== mutated.length) return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: `content-length ${cl[1]} does not match mutated body length ${mutated.length}` });
        } else if (mutated) headers = headers.filter(([k]) => k !== 'content-length');
        if (mutated) body = mutated;
        return finish({ result: 'forwarded', headers, body });
      }

      // STREAMED: one message per chunk, each answered in order; header mutations in body replies are ignored.
      const out: Buffer[] = [];
      let mutatedAny = false;
      for (let i = 0; i < chunks.length; i++) {
        const chunk = chunks[i]!;
        send({ request_body: { body: chunk, end_of_stream: i === chunks.length - 1 } });
        const reply = await next();
        if (reply.immediate_response) return finish(immediate(reply));
        if (!reply.request_body) return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: 'out-of-order reply to request_body chunk' });
        const mutated = mutateBody(chunk, reply.request_body.response);
        if (mutated) mutatedAny = true;
        out.push(mutated ?? chunk);
      }
      if (mutatedAny) headers = headers.filter(([k]) => k !== 'content-length');
      return finish({ result: 'forwarded', headers, body: Buffer.concat(out) });
    } catch (err) {
      // Server ended the stream with a gRPC error: Envoy's status_on_error (default 500).
      return finish({ result: 'local_reply', status: 500, headers: [], body: Buffer.alloc(0), error: (err as Error).message });
    }
  }

  close(): void {
    this.client.close();
  }
}

function immediate(reply: ProcessingResponse): Omit<ExtProcOutcome, 'rejectedMutations' | 'bodyModeUsed' | 'messagesSent'> {
  const ir = reply.immediate_response!;
  const raw = (ir.status as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' ? (HTTP_CODES[raw] ?? Number(raw)) : Number(raw ?? 0);
  const headers: Array<[string, string]> = (ir.headers?.set_headers ?? []).map((h) => [h.header?.key ?? '', headerValue(h.header) ?? '']);
  return { result: 'local_reply', status: code >= 200 ? code : 200, headers, body: Buffer.from(ir.body ?? []) };
}

function headerValue(h: HeaderValue | undefined): string | undefined {
  if (!h) return undefined;
  // envoy#31555: only raw_value counts; `value` alone yields an empty header.
  if (h.raw_value && h.raw_value.length > 0) return Buffer.from(h.raw_value).toString('latin1');
  return '';
}

function applyHeaderMutation(headers: Array<[string, string]>, m: HeaderMutation | undefined, rejected: string[]): Array<[string, string]> | string {
  if (!m) return headers;
  let out = headers.slice();
  for (const name of m.remove_headers ?? []) {
    const key = name.toLowerCase();
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
    const value = headerValue(opt.header) ?? '';
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
