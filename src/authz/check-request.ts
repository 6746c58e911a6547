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
  const tooMany = headerLimit(http.header_map?.headers?.length ? http.header_map.headers.map((h) => [h.key ?? '', h.raw_value?.length ?? h.value?.length ?? 0] as const) : Object.entries(headers).map(([k, v]) => [k, v.length] as const));
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
function headerLimit(headers: ReadonlyArray<readonly [string, number]>): ParsedCheck | undefined {
  if (headers.length > LIMITS.checkHeaders) return { ok: false, limit: 'checkHeaders', reason: `request carries ${headers.length} headers; the limit is ${LIMITS.checkHeaders}` };
  let bytes = 0;
  for (const [key, valueLength] of headers) bytes += key.length + valueLength;
  if (bytes > LIMITS.checkHeaderBytes) return { ok: false, limit: 'checkHeaderBytes', reason: `request headers are ${bytes} bytes; the limit is ${LIMITS.checkHeaderBytes}` };
  return undefined;
}

/** Path for audit records: no query (queries carry tokens), and no segment that holds a detected or opaque value. */
export function pathForAudit(path: string): string {
  return redactPath(path);
}
