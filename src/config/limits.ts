/**
 * Fixed limits on what one caller can make Tollgate hold or do, each refused with a reason that names it and counted
 * in `tollgate_limit_rejections_total{limit}`. Chosen well above what Envoy itself lets through (60 KiB and 100 request
 * headers by default, HCM `max_request_headers_kb` / `common_http_protocol_options.max_headers_count`), so only a
 * caller that is not a sane Envoy meets them.
 */
export const LIMITS = {
  /** Headers in one CheckRequest (pseudo-headers included). */
  checkHeaders: 256,
  /** Bytes of header names and values in one CheckRequest. */
  checkHeaderBytes: 256 * 1024,
  /** Concurrent ADS streams one Envoy node id may hold (reconnects overlap briefly; more is a misbehaving client). */
  adsStreamsPerNode: 8,
  /** Distinct resource types one ADS stream may subscribe to: each keeps state, and Envoy's xDS APIs are about a dozen. */
  adsTypesPerStream: 32,
  /** Concurrent gRPC streams per HTTP/2 connection; Envoy opens another connection when it needs more. */
  grpcStreamsPerConnection: 1000,
  /** Allow rules in one policy (each becomes matcher entries, and exact ones xDS clusters). */
  policyRules: 100_000,
} as const;

export type LimitName = keyof typeof LIMITS | 'scrubBodyBytes' | 'policyBytes';
