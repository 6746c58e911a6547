import type { ScrubRecord } from '../audit/scrub-log.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import { parseAuthority } from '../policy/host.js';
import type { CommonResponse, ProcessingRequest, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { createBodyStream, isScannableContentType, scrubBody, scrubHeaders, scrubQuery, type ActionMap, type BodyStream, type Finding, type StreamStep } from '../scrub/index.js';
import { FindingTally } from '../scrub/finding-tally.js';
import { isPiiType } from '../scrub/kinds.js';
import { redactPath, storedRequestId } from '../scrub/path.js';
import { traceContext, type TraceContext } from '../trace/traceparent.js';
import { constantReply, replacedBodyReply } from './codec.js';
import { blockedResponse, continueResponse, readRequestHeaders, setHeader } from './messages.js';
import { decisionFromMetadata, peerFromAttributes } from './metadata.js';
import { storedMethod } from '../scrub/path.js';

export class ProtocolError extends Error {}

type Phase = 'headers' | 'body_buffered' | 'body_streamed' | 'done';

/**
 * The whole processing mode for the rest of the request. Envoy replaces both directions' modes with a mode_override
 * (ext_proc.cc `Filter::onReceiveMessage` → `setProcessingMode`), and before 1.34 an unset field turned into SEND, so
 * every field is set: response headers stay SKIPped (no extra round trip). Trailers are SENT in STREAMED mode, the only
 * way to learn that a body with trailers has ended: no chunk then carries end_of_stream (`Filter::onTrailers`).
 */
function modeOverride(body: 'BUFFERED' | 'STREAMED') {
  return {
    request_header_mode: 'SEND',
    response_header_mode: 'SKIP',
    request_body_mode: body,
    response_body_mode: 'NONE',
    request_trailer_mode: body === 'STREAMED' ? 'SEND' : 'SKIP',
    response_trailer_mode: 'SKIP',
  };
}

/** Replies that never vary, encoded once (codec.ts): most streams get only these two and a body reply. */
const REPLY = {
  headers: constantReply(continueResponse('request_headers')),
  headersBuffered: constantReply({ ...continueResponse('request_headers'), mode_override: modeOverride('BUFFERED') } as ProcessingResponse),
  body: constantReply(continueResponse('request_body')),
  responseHeaders: constantReply(continueResponse('response_headers')),
  responseBody: constantReply(continueResponse('response_body')),
  requestTrailers: constantReply({ request_trailers: {} } as ProcessingResponse),
  responseTrailers: constantReply({ response_trailers: {} } as ProcessingResponse),
};
const NO_BODY = Buffer.alloc(0);
const EMPTY_STEP: StreamStep = { output: '', findings: [], blocked: false };

/** A decoded `bytes` field: a Buffer when set, an empty array (protobufjs's default) or nothing when not. */
function bodyBytes(body: Uint8Array | null | undefined): Buffer {
  if (!body || body.length === 0) return NO_BODY;
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
}

/**
 * The per-stream state machine of one ext_proc request, following Envoy's order: request_headers, then
 * (only if we asked for it with mode_override) the body: one BUFFERED message or STREAMED chunks, each
 * answered exactly once. Response-side and trailer messages (not requested by Tollgate's config) are
 * answered with CONTINUE so the order stays intact. Returns null in observability mode (no replies).
 */
export class RequestProcessor {
  private phase: Phase = 'headers';
  /** Bounded: one body can hold millions of findings; beyond the first 1000 they are only counted. */
  private readonly findings = new FindingTally();
  private readonly blockTypes = new Set<string>();
  private identity = 'unknown';
  private destination = '(unknown)';
  private method = '';
  private path = '';
  private decisionId: string | undefined;
  private requestId: string | undefined;
  private trace: TraceContext | undefined;
  private contentType: string | undefined;
  private actions!: ActionMap;
  private stream: BodyStream | undefined;
  private bytesScanned = 0;
  private bodyMode = 'none';
  private outcome: ScrubRecord['outcome'] = 'forwarded';
  private note: string | undefined;
  /** Phone-shaped values redacted unvalidated (buffered bodies add theirs; a stream's count is read at the end). */
  private phoneUnvalidated = 0;
  /** Set when the headers and query spent their phone budget (kept apart: later notes replace `note`). */
  private headersBudgetNote: string | undefined;
  /** Envoy's observability_mode: it streams everything and expects no reply, so nothing is mutated. */
  private observing = false;

  constructor(private readonly version: PolicyVersion) {}

  handle(req: ProcessingRequest): ProcessingResponse | null {
    const observe = req.observability_mode === true;
    if (observe) this.observing = true;
    let res: ProcessingResponse;
    if (req.request_headers) res = this.onHeaders(req);
    else if (req.request_body) res = this.onBody(bodyBytes(req.request_body.body), req.request_body.end_of_stream === true);
    else if (req.request_trailers) res = this.onTrailers();
    else if (req.response_headers) res = REPLY.responseHeaders;
    else if (req.response_body) res = REPLY.responseBody;
    else if (req.response_trailers) res = REPLY.responseTrailers;
    else throw new ProtocolError('ProcessingRequest carries no request or response part');
    if (observe) return null;
    if (res.immediate_response) this.phase = 'done';
    return res;
  }

  private onHeaders(req: ProcessingRequest): ProcessingResponse {
    if (this.phase !== 'headers') throw new ProtocolError(`request_headers received while expecting ${this.phase}`);
    const msg = req.request_headers!;
    const named = readRequestHeaders(msg.headers);
    const headers = named.list;
    const authority = parseAuthority(named.authority ?? named.host ?? '');
    this.destination = authority ? `${authority.host}:${authority.port ?? 'default'}` : '(unknown)';
    // Only what ext_authz put in dynamic metadata: a request header could have been sent by the workload itself.
    const decision = decisionFromMetadata(req.metadata_context);
    this.identity = decision.identity ?? this.version.identities.resolvePeer(peerFromAttributes(req.attributes)).name;
    this.decisionId = decision.decisionId;
    this.requestId = storedRequestId(named.requestId);
    this.trace = traceContext(named.traceparent);
    this.method = storedMethod(named.method ?? '');
    const rawPath = named.path ?? '';
    this.path = redactPath(rawPath);
    this.contentType = named.contentType;
    const plan = this.version.scrub;
    if (!plan.enabled) {
      this.phase = 'done';
      return REPLY.headers;
    }
    this.actions = plan.actionsFor(this.identity, authority?.host ?? '');

    // One phone budget for the headers and the query, like a body's: values many and small must not add up unbounded.
    const budget = plan.detectors.newBudget();
    const opts = { actions: this.actions, context: { budget } };
    const scrubbed = scrubHeaders(plan.detectors, headers, opts);
    this.add(scrubbed.findings);
    const query = scrubQuery(plan.detectors, rawPath, opts);
    this.headersBudgetNote = budget.note();
    this.phoneUnvalidated += budget.structural;
    for (const f of query.findings) {
      // `:path` is never rewritten, so a token in the query cannot be scrubbed: mutating actions escalate to block.
      const escalate = !isPiiType(f.type) && f.action !== 'allow' && f.action !== 'block';
      this.add([escalate ? { ...f, action: 'block' } : f.action === 'block' ? f : { ...f, action: 'allow' }]);
    }
    if (scrubbed.blocked || this.blockTypes.size > 0) return this.block();

    const headersChanged = scrubbed.changed.length > 0;
    const common: CommonResponse = headersChanged ? { header_mutation: { set_headers: scrubbed.changed.map((h) => setHeader(h.name, h.value)) } } : {};
    if (headersChanged) this.outcome = 'scrubbed';
    if (msg.end_of_stream || !isScannableContentType(this.contentType)) {
      if (!msg.end_of_stream) this.addNote(`content type ${this.contentType ?? '(none)'} is not scannable; headers only`);
      this.phase = 'done';
      return headersChanged ? continueResponse('request_headers', common) : REPLY.headers;
    }
    // Ask for the body only now that we know it is scannable: buffered up to the limit, streamed beyond.
    const length = Number(named.contentLength);
    const buffered = !this.observing && Number.isFinite(length) && length >= 0 && length <= plan.bufferLimitBytes;
    this.phase = buffered ? 'body_buffered' : 'body_streamed';
    this.bodyMode = buffered ? 'BUFFERED' : 'STREAMED';
    if (!buffered) this.stream = createBodyStream(plan.detectors, this.contentType, opts);
    if (buffered && !headersChanged) return REPLY.headersBuffered;
    const mutation: CommonResponse = buffered ? common : { header_mutation: { ...common.header_mutation, remove_headers: ['content-length'] } };
    if (!buffered && named.contentLength !== undefined) this.addNote('streamed: content-length removed (chunks may change length)');
    // Envoy decided whether to drop content-length in `decodeHeaders`, from the configured body mode NONE, before this
    // reply; nothing removes it after a mode_override (ext_proc.cc `Filter::decodeHeaders`, processor_state.h
    // `shouldRemoveContentLength`), so a streamed body whose length changes must lose it here.
    return { ...continueResponse('request_headers', mutation), mode_override: modeOverride(this.bodyMode as 'BUFFERED' | 'STREAMED') } as ProcessingResponse;
  }

  private onBody(body: Buffer, endOfStream: boolean): ProcessingResponse {
    if (this.phase === 'headers') throw new ProtocolError('request_body received before request_headers');
    // A body we did not ask for (static STREAMED config, or observability mode): pass it through untouched.
    if (this.phase === 'done') return REPLY.body;
    if (this.phase === 'body_buffered') {
      this.phase = 'done';
      this.bytesScanned += body.length;
      const result = scrubBody(this.version.scrub.detectors, body, this.contentType, { actions: this.actions });
      this.add(result.findings);
      if (result.summary.note) this.addNote(result.summary.note);
      this.phoneUnvalidated += result.summary.phoneBudgetExhausted ?? 0;
      if (result.blocked) return this.block();
      // Nothing to change: CONTINUE without a body mutation; Envoy then forwards the body it buffered as it is
      // (processor_state.cc `ProcessorState::handleBodyResponse`: the buffered data is modified only `if has_body_mutation()`).
      if (!result.changed) return REPLY.body;
      this.outcome = 'scrubbed';
      // BUFFERED with headers SEND: Envoy requires the processor to set content-length (envoy#28515).
      return replacedBodyReply(result.output);
    }
    if (this.phase === 'body_streamed' && this.stream) {
      this.bytesScanned += body.length;
      if (this.bytesScanned > this.version.scrub.maxBodyBytes) return this.tooLarge();
      const step = body.length > 0 ? this.stream.push(body) : EMPTY_STEP;
      const last = endOfStream ? this.stream.end() : undefined;
      this.add(step.findings);
      if (last) this.add(last.findings);
      const spent = step.note ?? last?.note;
      if (spent !== undefined) this.addNote(spent);
      if (step.blocked || last?.blocked) {
        this.addNote('blocked mid-stream: earlier chunks had already been forwarded');
        return this.block();
      }
      if (endOfStream) this.phase = 'done';
      if (step.findings.length > 0 || last?.findings.length) this.outcome = 'scrubbed';
      // The stream holds back a tail to catch tokens split across chunks, so every chunk is replaced.
      return continueResponse('request_body', { body_mutation: { body: Buffer.from(step.output + (last?.output ?? ''), 'utf8') } });
    }
    throw new ProtocolError(`request_body received while expecting ${this.phase}`);
  }

  /**
   * Trailers end a streamed body without an end_of_stream chunk, and they reach us only after every chunk was answered
   * (processor_state.cc `handleBodyResponse`: trailers wait for an empty chunk queue); a TrailersResponse carries no
   * body, so text still held back for the split-token check cannot be released any more. Forwarding the body without
   * it would truncate the request, so it is refused instead.
   */
  private onTrailers(): ProcessingResponse {
    if (this.phase !== 'body_streamed' || !this.stream) return REPLY.requestTrailers;
    const last = this.stream.end();
    this.add(last.findings);
    this.phase = 'done';
    if (last.output.length === 0) return REPLY.requestTrailers;
    this.outcome = 'blocked';
    this.addNote(`request trailers after a streamed body: its last ${Buffer.byteLength(last.output)} bytes were held back for scanning and cannot be forwarded after the trailers`);
    return blockedResponse({ error: 'egress_blocked', decision_id: this.decisionId ?? null, identity: this.identity, destination: this.destination, finding_types: [], reason: 'a streamed request body followed by trailers cannot be scrubbed completely; send it with content-length (buffered) or without trailers' }, 'tollgate_trailers_after_streamed_body');
  }

  /** A streamed body past scrub.maxBodyBytes: refused (the upstream request is reset), never forwarded unscanned. */
  /** Notes accumulate (a budget note, then a refusal): the record keeps every reason, in order. */
  private addNote(note: string): void {
    this.note = this.note === undefined ? note : `${this.note}; ${note}`;
  }

  private tooLarge(): ProcessingResponse {
    const limit = this.version.scrub.maxBodyBytes;
    this.outcome = 'blocked';
    this.phase = 'done';
    this.limitExceeded = 'scrubBodyBytes';
    this.addNote(`body over scrub.maxBodyBytes (${limit} bytes): refused mid-stream`);
    return blockedResponse({ error: 'egress_body_too_large', decision_id: this.decisionId ?? null, identity: this.identity, destination: this.destination, finding_types: [], reason: `request body is larger than ${limit} bytes, the most Tollgate scans (scrub.maxBodyBytes)` }, 'tollgate_body_too_large', 'PayloadTooLarge');
  }

  /** Set when this stream was refused for a fixed limit (counted by the service). */
  limitExceeded: 'scrubBodyBytes' | undefined;

  private block(): ProcessingResponse {
    this.outcome = 'blocked';
    this.phase = 'done';
    const types = [...this.blockTypes];
    return blockedResponse({ error: 'egress_blocked', decision_id: this.decisionId ?? null, identity: this.identity, destination: this.destination, finding_types: types, reason: `request carries ${types.join(', ')}, which policy blocks from leaving` });
  }

  /** The audit record for this stream (call once when the stream ends). */
  record(): ScrubRecord {
    const counts = this.findings.counts();
    const dropped = this.findings.dropped > 0 ? `${this.findings.dropped} findings beyond the first ${this.findings.kept.length} are in counts only` : undefined;
    const note = [this.headersBudgetNote, this.note, dropped].filter((n) => n !== undefined).join('; ');
    const unvalidated = this.phoneUnvalidated + (this.stream?.phoneBudgetExhausted ?? 0);
    return {
      time: new Date().toISOString(),
      decision_id: this.decisionId,
      request_id: this.requestId,
      identity: this.identity,
      destination: this.destination,
      method: this.method,
      path: this.path,
      outcome: this.observing ? 'observed' : this.outcome,
      findings: this.findings.kept.map((f) => ({ type: f.type, action: f.action, where: where(f), fingerprint: f.fingerprint })),
      counts,
      bytes_scanned: this.bytesScanned,
      body_mode: this.bodyMode,
      ...(note ? { note } : {}),
      ...(unvalidated > 0 ? { phone_unvalidated: unvalidated } : {}),
      ...this.trace,
    };
  }

  private add(findings: readonly Finding[]): void {
    this.findings.add(findings);
    for (const f of findings) if (f.action === 'block') this.blockTypes.add(f.type);
  }
}

function where(f: Finding): string {
  const l = f.location;
  switch (l.kind) {
    case 'header':
      return `header:${l.name}`;
    case 'json':
      return `json:${l.path}`;
    case 'form':
      return `form:${l.field}`;
    case 'query':
      return `query:${l.param}`;
    default:
      return `body:${f.start}-${f.end}`;
  }
}
