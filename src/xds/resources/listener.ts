import { EXT_AUTHZ_NAMESPACE } from '../../authz/check-response.js';
import { DNS_CACHE_CONFIG } from './clusters.js';
import { DOWNSTREAM_CA_SECRET, DOWNSTREAM_CERT_SECRET, EGRESS_LISTENER, EGRESS_ROUTES, ENVOY_TOKEN_HEADER, TOLLGATE_CLUSTER, seconds } from './names.js';
import type { XdsOptions } from './options.js';

type Json = Record<string, unknown>;

/** Envoy's default `per_connection_buffer_limit_bytes` (listener.proto). */
export const ENVOY_DEFAULT_BUFFER_LIMIT = 1024 * 1024;

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
        // ext_authz's decision (identity, decision id) reaches ext_proc only through forwarded dynamic metadata
        // (ext_proc.cc `Filter::addDynamicMetadata`): ext_authz removes its own headers before ext_proc runs.
        metadata_options: { forwarding_namespaces: { untyped: [EXT_AUTHZ_NAMESPACE] } },
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

const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** Envoy terminates the workloads' TLS and requires a client certificate; certificates arrive by SDS over ADS. */
function downstreamTransportSocket(): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: DOWNSTREAM_CERT_SECRET, sds_config: ADS_SOURCE }],
        validation_context_sds_secret_config: { name: DOWNSTREAM_CA_SECRET, sds_config: ADS_SOURCE },
        alpn_protocols: ['h2', 'http/1.1'],
      },
    },
  };
}

/** Listener-level facts that come from the policy rather than the options. */
export interface ListenerNeeds {
  withDfp: boolean;
  /** The scrub buffer limit: BUFFERED bodies up to it must fit Envoy's buffer, or Envoy answers 413 itself. */
  bufferLimitBytes: number;
}

/** The listener workloads send plain HTTP (Envoy originates TLS) or CONNECT tunnels to. */
export function egressListener(opts: XdsOptions, needs: ListenerNeeds): Json {
  const mtls = opts.downstream.mode === 'mtls';
  const hcm: Json = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'egress_http',
    codec_type: 'AUTO',
    rds: { config_source: ADS_SOURCE, route_config_name: EGRESS_ROUTES },
    http_filters: httpFilters(opts, needs.withDfp),
    upgrade_configs: [{ upgrade_type: 'CONNECT' }],
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    // SANITIZE_SET: workload-sent XFCC is replaced with the verified peer's (mTLS) or dropped (plaintext);
    // ALWAYS_FORWARD_ONLY keeps the XFCC a trusted sidecar set (conn_manager_utility.cc `mutateXfccRequestHeader`).
    forward_client_cert_details: opts.downstream.mode === 'sidecar' ? 'ALWAYS_FORWARD_ONLY' : 'SANITIZE_SET',
    ...(opts.downstream.mode === 'sidecar' ? {} : { set_current_client_cert_details: { uri: true, dns: true, subject: true } }),
    generate_request_id: true,
    stream_idle_timeout: '300s',
    request_timeout: '60s',
  };
  if (opts.accessLog) {
    // The identity reaches the log through ext_authz's dynamic metadata, which the gRPC access logger always includes;
    // x-tollgate-* request headers are gone by then (ext_authz removes them, the route removes them again).
    const grpc: Json = { envoy_grpc: { cluster_name: TOLLGATE_CLUSTER } };
    if (opts.envoyToken) grpc.initial_metadata = [{ key: ENVOY_TOKEN_HEADER, value: opts.envoyToken }];
    hcm.access_log = [
      {
        name: 'envoy.access_loggers.http_grpc',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
          common_config: { log_name: 'tollgate', transport_api_version: 'V3', grpc_service: grpc },
        },
      },
    ];
  }
  const chain: Json = { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] };
  if (mtls) chain.transport_socket = downstreamTransportSocket();
  return {
    name: EGRESS_LISTENER,
    address: { socket_address: { address: opts.listenAddress, port_value: opts.listenPort } },
    filter_chains: [chain],
    // BUFFERED ext_proc bodies must fit the decoder buffer, whose limit is this (ext_proc.cc `onData` buffers the whole
    // body; over the limit Envoy answers 413 before Tollgate sees it).
    per_connection_buffer_limit_bytes: Math.max(ENVOY_DEFAULT_BUFFER_LIMIT, needs.bufferLimitBytes),
  };
}

/** The SDS secrets the mTLS listener names, as Secret resources (PEM inline: Envoy needs no file of its own). */
export function downstreamSecrets(opts: XdsOptions): Json[] {
  const d = opts.downstream;
  if (d.mode !== 'mtls') return [];
  const validation: Json = { trusted_ca: { inline_string: d.trustedCa } };
  // A client certificate must carry a SPIFFE ID of the trust domain, not just chain to the CA.
  if (d.trustDomain) validation.match_typed_subject_alt_names = [{ san_type: 'URI', matcher: { prefix: `spiffe://${d.trustDomain}/` } }];
  return [
    { name: DOWNSTREAM_CERT_SECRET, tls_certificate: { certificate_chain: { inline_string: d.certificateChain }, private_key: { inline_string: d.privateKey } } },
    { name: DOWNSTREAM_CA_SECRET, validation_context: validation },
  ];
}
