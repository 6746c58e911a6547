import { DNS_CACHE_CONFIG } from './clusters.js';
import { EGRESS_LISTENER, EGRESS_ROUTES, TOLLGATE_CLUSTER, seconds } from './names.js';
import type { XdsOptions } from './options.js';

type Json = Record<string, unknown>;

function grpcService(timeoutMs: number): Json {
  return { envoy_grpc: { cluster_name: TOLLGATE_CLUSTER }, timeout: seconds(timeoutMs) };
}

/**
 * HTTP filters in Envoy's required order: ext_authz (decide) → ext_proc (scrub) → dynamic forward
 * proxy (only when wildcard destinations exist) → router (last). Both Tollgate filters fail closed
 * unless `failureModeAllow` is set.
 */
export function httpFilters(opts: XdsOptions, withDfp: boolean): Json[] {
  const filters: Json[] = [
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
        transport_api_version: 'V3',
        grpc_service: grpcService(opts.authzTimeoutMs),
        failure_mode_allow: opts.failureModeAllow,
        status_on_error: { code: 'Forbidden' },
      },
    },
  ];
  if (opts.extProc) {
    filters.push({
      name: 'envoy.filters.http.ext_proc',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
        grpc_service: grpcService(opts.extProcTimeoutMs),
        failure_mode_allow: opts.failureModeAllow,
        // Headers always; the body only when Tollgate asks for it (mode_override) for a scannable content type.
        processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' },
        allow_mode_override: true,
        message_timeout: seconds(Math.min(opts.extProcTimeoutMs, 200)),
      },
    });
  }
  if (withDfp) {
    filters.push({
      name: 'envoy.filters.http.dynamic_forward_proxy',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig', dns_cache_config: DNS_CACHE_CONFIG },
    });
  }
  filters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } });
  return filters;
}

/** The listener workloads send plain HTTP (Envoy originates TLS) or CONNECT tunnels to. */
export function egressListener(opts: XdsOptions, withDfp: boolean): Json {
  const hcm: Json = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'egress_http',
    codec_type: 'AUTO',
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: EGRESS_ROUTES },
    http_filters: httpFilters(opts, withDfp),
    upgrade_configs: [{ upgrade_type: 'CONNECT' }],
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    // Workload-supplied XFCC is not trusted: Envoy replaces it with what it saw (mTLS) or drops it.
    forward_client_cert_details: 'SANITIZE_SET',
    set_current_client_cert_details: { uri: true, dns: true, subject: true },
    generate_request_id: true,
    stream_idle_timeout: '300s',
    request_timeout: '60s',
  };
  if (opts.accessLog) {
    hcm.access_log = [
      {
        name: 'envoy.access_loggers.http_grpc',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
          common_config: { log_name: 'tollgate', transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: TOLLGATE_CLUSTER } } },
          // Lets the access log carry the identity even if it outlives the decision it would join by x-request-id.
          additional_request_headers_to_log: ['x-tollgate-identity', 'x-tollgate-decision-id'],
        },
      },
    ];
  }
  return {
    name: EGRESS_LISTENER,
    address: { socket_address: { address: opts.listenAddress, port_value: opts.listenPort } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
}
