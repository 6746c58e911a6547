import { isIP } from 'node:net';
import { anyType, boolValue, dfpClusterCache, list, obj, sameJson, str, type Json, type SemanticProblem, type SnapshotIndex } from './problem.js';
import { checkSdsReference } from './secrets.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

type Report = (p: Omit<SemanticProblem, 'resource'>) => void;

/**
 * DNS caches by name across the snapshot, in the order Envoy creates them (clusters over CDS before the listener's
 * filter over LDS): DnsCacheManagerImpl::getCache refuses a second config under a name with different settings.
 */
export class DnsCaches {
  private readonly byName = new Map<string, { config: Json; at: string }>();

  register(config: Json, at: string, path: string, report: Report): void {
    const name = str(config.name) ?? '';
    const first = this.byName.get(name);
    if (!first) {
      this.byName.set(name, { config, at });
      return;
    }
    // JSON equality stands in for MessageDifferencer::Equivalent (it also tells an explicit default from an unset field).
    if (sameJson(first.config, config)) return;
    report({
      rule: 'dfp.dns-cache-settings',
      origin: 'envoy-rejects',
      path,
      message: `config specified DNS cache '${name}' with different settings`,
      note: `the cache was first configured at ${first.at}`,
      source: { file: 'source/extensions/common/dynamic_forward_proxy/dns_cache_manager_impl.cc', fn: 'DnsCacheManagerImpl::getCache' },
    });
  }
}

/** Whether Envoy speaks HTTP/2 to this cluster (what a gRPC service needs). */
export function isHttp2Cluster(cluster: Json): boolean {
  const options = obj(obj(cluster.typed_extension_protocol_options)?.[HTTP_PROTOCOL_OPTIONS]);
  if (options) return obj(options.explicit_http_config)?.http2_protocol_options !== undefined;
  return cluster.http2_protocol_options !== undefined;
}

/** The discovery type Envoy uses: `type` (STATIC when unset) unless `cluster_type` names an extension. */
function discoveryType(cluster: Json): string {
  if (obj(cluster.cluster_type)) return 'CUSTOM';
  return str(cluster.type) ?? 'STATIC';
}

/** Cluster rules Envoy applies when it creates a cluster (the cluster factories), and Tollgate's TLS rule. */
export function checkCluster(name: string, cluster: Json, resourceAt: string, index: SnapshotIndex, caches: DnsCaches): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const report: Report = (p) => problems.push({ resource: { type: 'Cluster', name }, ...p });
  const type = discoveryType(cluster);
  const assignment = obj(cluster.load_assignment);
  const localities = list(assignment?.endpoints);

  if (type === 'LOGICAL_DNS') {
    const single = localities.length === 1 && list(obj(localities[0])?.lb_endpoints).length === 1;
    if (!single) {
      report({
        rule: 'cluster.logical-dns-single-endpoint',
        origin: 'envoy-rejects',
        path: assignment ? 'load_assignment.endpoints' : 'load_assignment',
        message: assignment ? 'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint' : 'LOGICAL_DNS clusters must have a single host',
        source: { file: 'source/extensions/clusters/logical_dns/logical_dns_cluster.cc', fn: 'LogicalDnsClusterFactory::createClusterImpl' },
      });
    }
  }

  if (type === 'STATIC') {
    localities.forEach((l, i) => {
      list(obj(l)?.lb_endpoints).forEach((e, j) => {
        const socket = obj(obj(obj(obj(e)?.endpoint)?.address)?.socket_address);
        if (!socket || str(socket.resolver_name)) return;
        const address = str(socket.address) ?? '';
        if (isIP(address) !== 0) return;
        report({
          rule: 'cluster.static-ip-endpoints',
          origin: 'envoy-rejects',
          path: `load_assignment.endpoints[${i}].lb_endpoints[${j}].endpoint.address.socket_address.address`,
          message: `malformed IP address: ${address}`,
          note: 'STATIC endpoints are parsed as IP literals, never resolved',
          source: { file: 'source/extensions/clusters/static/static_cluster.cc', fn: 'StaticClusterImpl::StaticClusterImpl (Network::Address::resolveProtoAddress)' },
        });
      });
    });
  }

  const dnsCache = dfpClusterCache(cluster);
  if (dnsCache) {
    if (cluster.lb_policy !== 'CLUSTER_PROVIDED') {
      report({
        rule: 'cluster.dfp-lb-policy',
        origin: 'envoy-rejects',
        path: 'lb_policy',
        message: `cluster manager: cluster provided LB not specified but cluster '${name}' provided one. Check cluster documentation.`,
        note: 'a dynamic forward proxy cluster needs lb_policy: CLUSTER_PROVIDED',
        source: { file: 'source/common/upstream/cluster_manager_impl.cc', fn: 'ClusterManagerImpl::loadCluster' },
      });
    }
    const config = obj(obj(cluster.cluster_type)?.typed_config) ?? {};
    if (!boolValue(config.allow_insecure_cluster_options)) {
      // Without typed HttpProtocolOptions Envoy defaults both to true on the legacy field; with them, they must be set.
      const typed = obj(obj(cluster.typed_extension_protocol_options)?.[HTTP_PROTOCOL_OPTIONS]);
      const options = typed ? obj(typed.upstream_http_protocol_options) : (obj(cluster.upstream_http_protocol_options) ?? { auto_sni: true, auto_san_validation: true });
      if (options?.auto_sni !== true || options.auto_san_validation !== true) {
        report({
          rule: 'cluster.dfp-auto-sni-san',
          origin: 'envoy-rejects',
          path: typed ? `typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"].upstream_http_protocol_options` : 'upstream_http_protocol_options',
          message: 'dynamic_forward_proxy cluster must have auto_sni and auto_san_validation true unless allow_insecure_cluster_options is set.',
          source: { file: 'source/extensions/clusters/dynamic_forward_proxy/cluster.cc', fn: 'ClusterFactory::createClusterWithConfig' },
        });
      }
    }
    caches.register(dnsCache, `${resourceAt}.cluster_type.typed_config.dns_cache_config`, 'cluster_type.typed_config.dns_cache_config', report);
  }

  const socket = obj(cluster.transport_socket);
  if (socket && anyType(socket.typed_config) === UPSTREAM_TLS) {
    const tls = obj(socket.typed_config) ?? {};
    const common = obj(tls.common_tls_context) ?? {};
    const at = 'transport_socket.typed_config.common_tls_context';
    list(common.tls_certificate_sds_secret_configs).forEach((ref, i) => checkSdsReference(ref, 'tls_certificate', 'upstream', `${at}.tls_certificate_sds_secret_configs[${i}]`, index, report));
    const combined = obj(common.combined_validation_context);
    if (common.validation_context_sds_secret_config !== undefined) checkSdsReference(common.validation_context_sds_secret_config, 'validation_context', 'upstream', `${at}.validation_context_sds_secret_config`, index, report);
    if (combined?.validation_context_sds_secret_config !== undefined) checkSdsReference(combined.validation_context_sds_secret_config, 'validation_context', 'upstream', `${at}.combined_validation_context.validation_context_sds_secret_config`, index, report);
    // The dynamic forward proxy checks the SAN against the Host header itself (auto_san_validation, above).
    if (!dnsCache) {
      const missing = unverifiedUpstream(common, tls, index);
      if (missing.length > 0) {
        report({
          rule: 'cluster.upstream-tls-verified',
          origin: 'tollgate',
          path: `${at}.validation_context`,
          message: `the UpstreamTlsContext has no ${missing.join(' and no ')}`,
          note: 'without a trusted CA Envoy does not verify the upstream certificate at all, and without a SAN matcher any certificate that CA signed is accepted',
          source: { file: 'source/common/tls/cert_validator/default_validator.cc', fn: 'DefaultCertValidator::initializeSslContexts' },
        });
      }
    }
  }
  return problems;
}

/** What an upstream validation context lacks among a trusted CA and a SAN matcher, looking through SDS secrets. */
function unverifiedUpstream(common: Json, tls: Json, index: SnapshotIndex): string[] {
  const combined = obj(common.combined_validation_context);
  const sdsRef = obj(common.validation_context_sds_secret_config) ?? obj(combined?.validation_context_sds_secret_config);
  const fromSecret = sdsRef ? obj(index.secrets.get(str(sdsRef.name) ?? '')?.validation_context) : undefined;
  const contexts = [obj(common.validation_context), obj(combined?.default_validation_context), fromSecret].filter((c): c is Json => c !== undefined);
  // A validation context from an SDS source outside the snapshot cannot be seen from here.
  const opaque = sdsRef !== undefined && !fromSecret;
  const hasCa = opaque || contexts.some((c) => c.trusted_ca !== undefined || c.system_root_certs !== undefined);
  const hasSan = opaque || contexts.some((c) => list(c.match_typed_subject_alt_names).length > 0 || list(c.match_subject_alt_names).length > 0) || boolValue(tls.auto_sni_san_validation);
  const missing: string[] = [];
  if (!hasCa) missing.push('trusted CA (trusted_ca or system_root_certs)');
  if (!hasSan) missing.push('SAN matcher (match_typed_subject_alt_names)');
  return missing;
}
