import { splitHostPort } from '../../config/config.js';
import { ProtoWriter, Utf8 } from '../wire.js';
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

/** SDS secrets of the `tollgate` cluster's TLS: the client certificate Envoy presents, and how it verifies Tollgate. */
export const TOLLGATE_CLIENT_CERT_SECRET = 'tollgate_client_cert';
export const TOLLGATE_SERVER_CA_SECRET = 'tollgate_server_ca';

const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** The cluster Envoy uses to reach Tollgate: HTTP/2 (gRPC), health-checked with grpc.health.v1, over mTLS when `tollgateTls` is set. */
export function tollgateCluster(opts: XdsOptions): Json {
  const { host, port } = splitHostPort(opts.tollgateAddress);
  const cluster: Json = {
    name: TOLLGATE_CLUSTER,
    type: isIpLiteral(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: singleEndpoint(TOLLGATE_CLUSTER, host, port),
    typed_extension_protocol_options: HTTP2_OPTIONS,
    health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, grpc_health_check: {} }],
  };
  if (opts.tollgateTls) {
    const sni = tollgateServerName(opts);
    cluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        ...(isIpLiteral(sni) ? {} : { sni }),
        common_tls_context: {
          // Secrets over the same ADS stream: a rotated client certificate or CA reaches Envoy without a restart.
          tls_certificate_sds_secret_configs: [{ name: TOLLGATE_CLIENT_CERT_SECRET, sds_config: ADS_SOURCE }],
          validation_context_sds_secret_config: { name: TOLLGATE_SERVER_CA_SECRET, sds_config: ADS_SOURCE },
          // grpc-js serves HTTP/2 over TLS only when ALPN selects h2.
          alpn_protocols: ['h2'],
        },
      },
    };
  }
  return cluster;
}

/** The name Envoy sends as SNI and pins Tollgate's certificate SAN to: `tollgateTls.sni`, else the host of tollgateAddress. */
function tollgateServerName(opts: XdsOptions): string {
  return opts.tollgateTls?.sni ?? splitHostPort(opts.tollgateAddress).host;
}

/** The `tollgate` cluster's SDS secrets: Envoy's client certificate, and the CA plus SAN that Tollgate's certificate must match. */
export function tollgateSecrets(opts: XdsOptions): Json[] {
  const t = opts.tollgateTls;
  if (!t) return [];
  const name = tollgateServerName(opts);
  return [
    { name: TOLLGATE_CLIENT_CERT_SECRET, tls_certificate: { certificate_chain: { inline_string: t.clientCertificateChain }, private_key: { inline_string: t.clientPrivateKey } } },
    {
      name: TOLLGATE_SERVER_CA_SECRET,
      // Without the SAN matcher Envoy accepts any certificate the CA signed (default_validator.cc `DefaultCertValidator::initializeSslContexts`).
      validation_context: { trusted_ca: { inline_string: t.trustedCa }, match_typed_subject_alt_names: [{ san_type: isIpLiteral(name) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: name } }] },
    },
  ];
}

const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function upstreamTls(host: string, opts: XdsOptions): Json {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': UPSTREAM_TLS_CONTEXT,
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

// ---- Hand-written encoders for the two cluster shapes every destination produces (thousands per snapshot).
// Each writes exactly the bytes encodeMessage('envoy.config.cluster.v3.Cluster', <the JSON above>) gives: fields in
// field-number order, oneof members and protobufjs-present defaults (Duration.nanos) written, other defaults left
// out. test/xds/fast-encode.test.ts compares them over many generated policies; change both together.

const writer = new ProtoWriter(1024);

// envoy.config.cluster.v3.Cluster.DiscoveryType, DnsLookupFamily; SubjectAltNameMatcher.SanType.
const STATIC = 0;
const LOGICAL_DNS = 2;
const V4_PREFERRED = 3;
const SAN_DNS = 2;
const SAN_IP_ADDRESS = 4;
const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';

/** The cluster name and host, UTF-8 encoded once per cluster: each appears in several fields. */
const nameBytes = new Utf8();
const hostBytes = new Utf8();

/** A string field outside a oneof: proto3 leaves the empty string off the wire. */
function optString(w: ProtoWriter, field: number, value: Utf8): void {
  if (value.length > 0) w.utf8Field(field, value);
}

/** Encoded once: fields that are the same in every cluster of these shapes. */
function constantBytes(write: (w: ProtoWriter) => void): Buffer {
  const w = new ProtoWriter(256);
  write(w);
  return w.finish();
}

// connect_timeout (4): Duration 5s (seconds, and nanos 0, which protobufjs writes); dns_lookup_family (17).
const HEAD_AFTER_TYPE = constantBytes((w) => {
  const timeout = w.begin(4);
  w.uint32(1, 5).uint32(2, 0);
  w.end(timeout);
  w.uint32(17, V4_PREFERRED);
});
const TLS_SOCKET_NAME = constantBytes((w) => w.string(1, TLS_TRANSPORT_SOCKET)); // TransportSocket.name
const TLS_CONTEXT_TYPE_URL = constantBytes((w) => w.string(1, UPSTREAM_TLS_CONTEXT)); // Any.type_url

let trustedCa: { file: string; bytes: Buffer } | undefined;

/** CertificateValidationContext.trusted_ca (1): DataSource { filename (oneof specifier) }, per CA file. */
function trustedCaField(file: string): Buffer {
  if (trustedCa?.file !== file) {
    trustedCa = {
      file,
      bytes: constantBytes((w) => {
        const ca = w.begin(1);
        w.string(1, file);
        w.end(ca);
      }),
    };
  }
  return trustedCa.bytes;
}

/** Cluster fields 1-17 shared by both shapes: name, type, connect_timeout (5s), dns_lookup_family. */
function writeClusterHead(w: ProtoWriter, ip: boolean): void {
  optString(w, 1, nameBytes); // name
  w.uint32(2, ip ? STATIC : LOGICAL_DNS); // type (oneof cluster_discovery_type: written even when 0)
  w.raw(HEAD_AFTER_TYPE);
}

/** Cluster.load_assignment (33): singleEndpoint(name, host, port). */
function writeSingleEndpoint(w: ProtoWriter, port: number): void {
  const cla = w.begin(33);
  optString(w, 1, nameBytes); // ClusterLoadAssignment.cluster_name
  const locality = w.begin(2); // endpoints[0]: LocalityLbEndpoints
  const lb = w.begin(2); // lb_endpoints[0]: LbEndpoint
  const endpoint = w.begin(1); // endpoint (oneof host_identifier)
  const address = w.begin(1); // Endpoint.address
  const socket = w.begin(1); // Address.socket_address (oneof)
  optString(w, 2, hostBytes); // SocketAddress.address
  w.uint32(3, port); // port_value (oneof port_specifier)
  w.end(socket).end(address).end(endpoint).end(lb).end(locality).end(cla);
}

/** Cluster.transport_socket (24): upstreamTls(host, opts). */
function writeUpstreamTls(w: ProtoWriter, ip: boolean, opts: XdsOptions): void {
  const socket = w.begin(24);
  w.raw(TLS_SOCKET_NAME); // TransportSocket.name
  const any = w.begin(3); // typed_config (oneof config_type): Any
  w.raw(TLS_CONTEXT_TYPE_URL); // Any.type_url
  const value = w.begin(2); // Any.value: UpstreamTlsContext
  const common = w.begin(1); // common_tls_context
  const validation = w.begin(3); // validation_context (oneof)
  w.raw(trustedCaField(opts.trustedCaFile)); // trusted_ca: DataSource { filename }
  const san = w.begin(15); // match_typed_subject_alt_names[0]
  w.uint32(1, ip ? SAN_IP_ADDRESS : SAN_DNS); // san_type
  const matcher = w.begin(2); // matcher: StringMatcher
  w.utf8Field(1, hostBytes); // exact (oneof match_pattern)
  w.end(matcher).end(san).end(validation).end(common);
  optString(w, 2, hostBytes); // UpstreamTlsContext.sni
  w.end(value).end(any).end(socket);
}

/** The encoded originClusterResource(name, scheme, host, port, opts). */
export function encodeOriginCluster(name: string, scheme: 'http' | 'https', host: string, port: number, opts: XdsOptions): Buffer {
  nameBytes.set(name);
  hostBytes.set(host);
  const ip = isIpLiteral(host);
  const w = writer.reset();
  writeClusterHead(w, ip);
  if (scheme === 'https') writeUpstreamTls(w, ip, opts);
  writeSingleEndpoint(w, port);
  return w.finish();
}

/** The encoded tunnelClusterResource(name, host, port). */
export function encodeTunnelCluster(name: string, host: string, port: number): Buffer {
  nameBytes.set(name);
  hostBytes.set(host);
  const w = writer.reset();
  writeClusterHead(w, isIpLiteral(host));
  writeSingleEndpoint(w, port);
  return w.finish();
}
