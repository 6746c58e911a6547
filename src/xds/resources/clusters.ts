import { splitHostPort } from '../../config/config.js';
import { DFP_DNS_CACHE, DFP_TLS_CLUSTER, DFP_PLAIN_CLUSTER, TOLLGATE_CLUSTER } from './names.js';
import type { XdsOptions } from './options.js';

type Json = Record<string, unknown>;

const HTTP2_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function singleEndpoint(cluster: string, host: string, port: number): Json {
  return { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }] };
}

export const DNS_CACHE_CONFIG: Json = { name: DFP_DNS_CACHE, dns_lookup_family: 'V4_PREFERRED', dns_refresh_rate: '30s', host_ttl: '300s', max_hosts: 4096 };

/** The cluster Envoy uses to reach Tollgate: HTTP/2 (gRPC), health-checked with grpc.health.v1. */
export function tollgateCluster(opts: XdsOptions): Json {
  const { host, port } = splitHostPort(opts.tollgateAddress);
  return {
    name: TOLLGATE_CLUSTER,
    type: isIpLiteral(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: singleEndpoint(TOLLGATE_CLUSTER, host, port),
    typed_extension_protocol_options: HTTP2_OPTIONS,
    health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, grpc_health_check: {} }],
  };
}

function upstreamTls(host: string, opts: XdsOptions): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: host,
      common_tls_context: {
        validation_context: {
          trusted_ca: { filename: opts.trustedCaFile },
          match_typed_subject_alt_names: [{ san_type: isIpLiteral(host) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: host } }],
        },
      },
    },
  };
}

/**
 * One exact destination: LOGICAL_DNS (connect to the current DNS answer, no endpoint churn) and, for
 * https, TLS originated by Envoy with SNI = host, the CA bundle, and the SAN pinned to the host.
 */
export function originClusterResource(name: string, scheme: 'http' | 'https', host: string, port: number, opts: XdsOptions): Json {
  return {
    name,
    type: isIpLiteral(host) ? 'STATIC' : 'LOGICAL_DNS',
    dns_lookup_family: 'V4_PREFERRED',
    connect_timeout: '5s',
    load_assignment: singleEndpoint(name, host, port),
    ...(scheme === 'https' ? { transport_socket: upstreamTls(host, opts) } : {}),
  };
}

/** Plain TCP to host:port for CONNECT tunnels (the workload speaks TLS inside the tunnel). */
export function tunnelClusterResource(name: string, host: string, port: number): Json {
  return { name, type: isIpLiteral(host) ? 'STATIC' : 'LOGICAL_DNS', dns_lookup_family: 'V4_PREFERRED', connect_timeout: '5s', load_assignment: singleEndpoint(name, host, port) };
}

/**
 * Wildcard destinations go through the dynamic forward proxy: one cluster for any host under the
 * suffix. Envoy requires auto_sni and auto_san_validation here (envoy PR#17835), so SNI and the SAN
 * check follow the request's Host header.
 */
export function dfpTlsCluster(opts: XdsOptions): Json {
  return {
    name: DFP_TLS_CLUSTER,
    connect_timeout: '5s',
    lb_policy: 'CLUSTER_PROVIDED',
    cluster_type: {
      name: 'envoy.clusters.dynamic_forward_proxy',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig', dns_cache_config: DNS_CACHE_CONFIG },
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true },
        explicit_http_config: { http_protocol_options: {} },
      },
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: { validation_context: { trusted_ca: { filename: opts.trustedCaFile } } },
      },
    },
  };
}

export function dfpPlainCluster(): Json {
  return {
    name: DFP_PLAIN_CLUSTER,
    connect_timeout: '5s',
    lb_policy: 'CLUSTER_PROVIDED',
    cluster_type: {
      name: 'envoy.clusters.dynamic_forward_proxy',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig', dns_cache_config: DNS_CACHE_CONFIG },
    },
  };
}
