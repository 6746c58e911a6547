import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/external_auth.js';
import { redactPath, storedRequestId } from '../scrub/path.js';
import { LIMITS, type LimitName } from '../config/limits.js';

/** The parts of a CheckRequest Tollgate decides on, read exactly where Envoy puts them. */
export interface CheckFacts {
  authority: string;
  method: string;
  path: string;
  principal: string | undefined;
  sourceAddress: string | undefined;
  headers: Record<string, string>;
  /** `x-request-id`, or its fingerprint when it could carry a value (see `storedRequestId`). */
  requestId: string | undefined;
  contextExtensions: Record<string, string>;
}

export type ParsedCheck = { ok: true; facts: CheckFacts } | { ok: false; reason: string; limit?: LimitName };

/**
 * Envoy sends `request.http.headers` (lower-case keys, pseudo-headers included) or, with
 * `encode_raw_headers`, `header_map` with `raw_value` bytes; both are accepted
 * (envoy source/extensions/filters/common/ext_authz/check_request_utils.cc).
 */
export function parseCheckRequest(req: CheckRequest | undefined): ParsedCheck {
  const attrs = req?.attributes;
  const http = attrs?.request?.http;
  if (!http) return { ok: false, reason: 'CheckRequest has no attributes.request.http' };
  let headers: Record<string, string> = http.headers ?? {};
  const tooMany = http.header_map?.headers?.length ? headerMapLimit(http.header_map.headers) : headersLimit(headers);
  if (tooMany) return tooMany;
  if (http.header_map?.headers?.length) {
    headers = {};
    for (const h of http.header_map.headers) {
      if (!h.key) continue;
      const value = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('latin1') : (h.value ?? '');
      const key = h.key.toLowerCase();
      headers[key] = key in headers ? `${headers[key]},${value}` : value;
    }
  }
  const authority = http.host || headers[':authority'] || headers.host || '';
  const method = http.method || headers[':method'] || '';
  if (authority === '') return { ok: false, reason: 'request has no host (:authority)' };
  if (method === '') return { ok: false, reason: 'request has no method' };
  const path = http.path || headers[':path'] || (method === 'CONNECT' ? '' : '/');
  return {
    ok: true,
    facts: {
      authority,
      method,
      path,
      principal: attrs?.source?.principal || undefined,
      sourceAddress: attrs?.source?.address?.socket_address?.address || undefined,
      headers,
      requestId: storedRequestId(headers['x-request-id']),
      contextExtensions: attrs?.context_extensions ?? {},
    },
  };
}

/** A CheckRequest over the header limits is denied before anything reads its headers. */
// Counted in place: this runs on every Check, so it allocates nothing for a request within the limits.
function headerMapLimit(headers: ReadonlyArray<{ key?: string; value?: string; raw_value?: Uint8Array }>): ParsedCheck | undefined {
  let bytes = 0;
  for (const h of headers) bytes += (h.key?.length ?? 0) + (h.raw_value?.length || h.value?.length || 0);
  return overLimit(headers.length, bytes);
}

function headersLimit(headers: Record<string, string>): ParsedCheck | undefined {
  let count = 0;
  let bytes = 0;
  for (const key in headers) {
    count++;
    bytes += key.length + headers[key]!.length;
  }
  return overLimit(count, bytes);
}

function overLimit(count: number, bytes: number): ParsedCheck | undefined {
  if (count > LIMITS.checkHeaders) return { ok: false, limit: 'checkHeaders', reason: `request carries ${count} headers; the limit is ${LIMITS.checkHeaders}` };
  if (bytes > LIMITS.checkHeaderBytes) return { ok: false, limit: 'checkHeaderBytes', reason: `request headers are ${bytes} bytes; the limit is ${LIMITS.checkHeaderBytes}` };
  return undefined;
}

const AUDIT_MEMO_LIMIT = 4096;
const AUDIT_MEMO_MAX_LENGTH = 256;
/** Audit paths of recent request paths, keyed without the query (a query never reaches the memo or the record). */
const auditPaths = new Map<string, string>();

/** Path for audit records: no query (queries carry tokens), and no segment that holds a detected or opaque value. */
export function pathForAudit(path: string): string {
  let end = path.indexOf('?');
  const hash = path.indexOf('#');
  if (hash !== -1 && (end === -1 || hash < end)) end = hash;
  const bare = end === -1 ? path : path.slice(0, end);
  if (bare.length > AUDIT_MEMO_MAX_LENGTH) return redactPath(bare);
  let audit = auditPaths.get(bare);
  if (audit === undefined) {
    audit = redactPath(bare);
    if (auditPaths.size >= AUDIT_MEMO_LIMIT) auditPaths.clear();
    auditPaths.set(bare, audit);
  }
  return audit;
}
