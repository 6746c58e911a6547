/** The trace a request belongs to, as W3C Trace Context names it: validated lower-case hex, never header text. */
export interface TraceContext {
  /** 32 hex digits, not all zero. */
  trace_id: string;
  /** 16 hex digits (the caller's span, `parent-id` in the header), not all zero. */
  span_id: string;
}

// version-traceid-parentid-flags; a later version may append fields after another "-" (W3C Trace Context §3.2.4).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The trace and span ids of a `traceparent` header, or undefined when it is absent or invalid (version ff, all-zero
 * ids, upper case, extra text on version 00, over 512 characters). Only these two ids are ever stored, so a header
 * stuffed with a token or an email never reaches a record or a log line.
 */
export function traceContext(header: string | undefined): TraceContext | undefined {
  if (header === undefined || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, , rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { trace_id: traceId!, span_id: spanId! };
}
