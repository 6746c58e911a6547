import type { HeaderValueOption } from '../proto/gen/envoy/config/core/v3/base.js';
import type { HeaderMap } from '../proto/gen/envoy/config/core/v3/base.js';
import type { CommonResponse, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';

/** Header pairs from a HeaderMap; Envoy sends `raw_value` bytes (runtime send_header_raw_value), older ones `value`. */
export function readHeaderMap(map: HeaderMap | undefined): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const h of map?.headers ?? []) {
    if (!h.key) continue;
    const value = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('latin1') : (h.value ?? '');
    out.push({ name: h.key.toLowerCase(), value });
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
