import type { HeaderValueOption } from '../proto/gen/envoy/config/core/v3/base.js';
import type { HeaderMap } from '../proto/gen/envoy/config/core/v3/base.js';
import type { CommonResponse, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';

/** The request headers the processor reads by name (the first of each, as Envoy's `HeaderMap::get` would). */
export interface RequestHeaders {
  list: Array<{ name: string; value: string }>;
  authority?: string;
  host?: string;
  method?: string;
  path?: string;
  contentType?: string;
  contentLength?: string;
  requestId?: string;
  traceparent?: string;
}

/**
 * One pass over the HeaderMap: every pair (for the header scan) and the named ones the processor needs. Envoy sends
 * `raw_value` bytes (runtime send_header_raw_value), older ones `value`.
 */
export function readRequestHeaders(map: HeaderMap | undefined | null): RequestHeaders {
  const out: RequestHeaders = { list: [] };
  const headers = map?.headers;
  if (!headers) return out;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (!h.key) continue;
    const raw = h.raw_value;
    // Decoded bytes are a Buffer (a view into the received message): no copy before reading them as latin1.
    const value = raw && raw.length > 0 ? (Buffer.isBuffer(raw) ? raw : Buffer.from(raw)).toString('latin1') : (h.value ?? '');
    const name = h.key.toLowerCase();
    out.list.push({ name, value });
    switch (name) {
      case ':authority':
        out.authority ??= value;
        break;
      case 'host':
        out.host ??= value;
        break;
      case ':method':
        out.method ??= value;
        break;
      case ':path':
        out.path ??= value;
        break;
      case 'content-type':
        out.contentType ??= value;
        break;
      case 'content-length':
        out.contentLength ??= value;
        break;
      case 'x-request-id':
        out.requestId ??= value;
        break;
      case 'traceparent':
        out.traceparent ??= value;
        break;
    }
  }
  return out;
}

/** A header to set, always as `raw_value` (a `value` alone gives an empty header: envoy#31555). */
export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') } } as HeaderValueOption;
}

export function continueResponse(kind: 'request_headers' | 'request_body' | 'response_headers' | 'response_body', common: CommonResponse = {}): ProcessingResponse {
  return { [kind]: { response: common } } as ProcessingResponse;
}

/** A local 403 from Envoy with a JSON body naming the finding types (never values). */
export function blockedResponse(body: Record<string, unknown>, details = 'tollgate_scrub_block', status: 'Forbidden' | 'PayloadTooLarge' = 'Forbidden'): ProcessingResponse {
  return {
    immediate_response: {
      status: { code: status },
      headers: { set_headers: [setHeader('content-type', 'application/json')] },
      body: Buffer.from(JSON.stringify(body)),
      details,
    },
  } as ProcessingResponse;
}
