import { DnsCaches, isHttp2Cluster } from './clusters.js';
import { anyType, boolValue, dfpClusterCache, list, obj, str, type Json, type SemanticProblem, type SnapshotIndex } from './problem.js';
import { clustersNamed } from './routes.js';
import { checkSdsReference } from './secrets.js';

const HCM_CONFIG = 'source/extensions/filters/network/http_connection_manager/config.cc';
const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ROUTER = 'envoy.filters.http.router';
const DFP_FILTER = 'envoy.filters.http.dynamic_forward_proxy';

/** Factory names Envoy registers for the typed configs Tollgate uses (what its error messages call the "type"). */
const HTTP_FILTER_FACTORIES: Record<string, string> = {
  'envoy.extensions.filters.http.router.v3.Router': ROUTER,
  'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz': 'envoy.filters.http.ext_authz',
  'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor': 'envoy.filters.http.ext_proc',
  'envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig': DFP_FILTER,
};

type Report = (p: Omit<SemanticProblem, 'resource'>) => void;

/** Listener rules: each HttpConnectionManager's filter chain, its gRPC services and routes, and downstream TLS. */
export function checkListener(name: string, listener: Json, resourceAt: string, index: SnapshotIndex, caches: DnsCaches): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const report: Report = (p) => problems.push({ resource: { type: 'Listener', name }, ...p });
  checkAccessLogs(listener.access_log, 'access_log', index, report);
  const chains: Array<[Json, string]> = list(listener.filter_chains).map((c, i) => [obj(c) ?? {}, `filter_chains[${i}]`]);
  if (obj(listener.default_filter_chain)) chains.push([obj(listener.default_filter_chain)!, 'default_filter_chain']);
  for (const [chain, chainAt] of chains) {
    checkDownstreamTls(chain, chainAt, index, report);
    list(chain.filters).forEach((f, j) => {
      const filter = obj(f) ?? {};
      if (anyType(filter.typed_config) !== HCM_TYPE) return;
      const at = `${chainAt}.filters[${j}].typed_config`;
      checkHcm(obj(filter.typed_config) ?? {}, at, `${resourceAt}.${at}`, index, caches, report);
    });
  }
  return problems;
}

function checkHcm(hcm: Json, at: string, absoluteAt: string, index: SnapshotIndex, caches: DnsCaches, report: Report): void {
  const filters = list(hcm.http_filters).map((f) => obj(f) ?? {});
  if (filters.length === 0) {
    report({
      rule: 'hcm.router-last',
      origin: 'tollgate',
      path: `${at}.http_filters`,
      message: `no http_filters: there is no ${ROUTER}, so no request is ever forwarded`,
      source: { file: HCM_CONFIG, fn: 'HttpConnectionManagerConfig::HttpConnectionManagerConfig (FilterChainHelper::processFilters)' },
    });
  }
  let dfpFilter: Json | undefined;
  let routerSeen = false;
  filters.forEach((filter, k) => {
    const filterAt = `${at}.http_filters[${k}]`;
    const filterName = str(filter.name) ?? '';
    const last = k === filters.length - 1;
    const type = anyType(filter.typed_config);
    if (filter.config_discovery !== undefined) return;
    if (type === undefined) {
      report({
        rule: 'hcm.filter-typed-config',
        origin: 'envoy-rejects',
        path: `${filterAt}.typed_config`,
        message: `Didn't find a registered implementation for '${filterName}' with type URL: ''`,
        note: 'Envoy finds HTTP filters by the type of their typed_config (envoy.reloadable_features.no_extension_lookup_by_name)',
        source: { file: 'source/common/config/utility.h', fn: 'Utility::getAndCheckFactory' },
      });
      return;
    }
    const factory = HTTP_FILTER_FACTORIES[type] ?? type;
    if (last && boolValue(filter.disabled)) {
      report({
        rule: 'hcm.router-last',
        origin: 'envoy-rejects',
        path: `${filterAt}.disabled`,
        message: `Error: the last (terminal) filter (${filterName}) in the chain cannot be disabled by default.`,
        source: { file: 'source/common/http/filter_chain_helper.h', fn: 'FilterChainHelper::processFilter' },
      });
    }
    if (factory === ROUTER) routerSeen = true;
    if (factory === ROUTER && !last) {
      report({
        rule: 'hcm.router-last',
        origin: 'envoy-rejects',
        path: filterAt,
        message: `Error: terminal filter named ${filterName} of type ${factory} must be the last filter in a http filter chain.`,
        source: { file: 'source/common/config/utility.cc', fn: 'Utility::validateTerminalFilters' },
      });
    }
    // Envoy stops at a router that is not last; the filter then last is the same mistake, not a second one.
    if (factory !== ROUTER && last && !routerSeen) {
      report({
        rule: 'hcm.router-last',
        origin: 'envoy-rejects',
        path: filterAt,
        message: `Error: non-terminal filter named ${filterName} of type ${factory} is the last filter in a http filter chain.`,
        source: { file: 'source/common/config/utility.cc', fn: 'Utility::validateTerminalFilters' },
      });
    }
    if (factory === DFP_FILTER) {
      dfpFilter = obj(obj(filter.typed_config)?.dns_cache_config) ?? {};
      caches.register(dfpFilter, `${absoluteAt}.http_filters[${k}].typed_config.dns_cache_config`, `${filterAt}.typed_config.dns_cache_config`, report);
    }
    const grpc = obj(obj(filter.typed_config)?.grpc_service);
    if (grpc) checkGrpcService(grpc, `${filterAt}.typed_config.grpc_service`, index, report);
  });
  checkAccessLogs(hcm.access_log, `${at}.access_log`, index, report);

  let routes: Json | undefined = obj(hcm.route_config);
  const rds = obj(hcm.rds);
  if (rds) {
    const routeName = str(rds.route_config_name) ?? '';
    routes = index.routes.get(routeName);
    if (!routes && obj(rds.config_source)?.ads !== undefined) {
      report({
        rule: 'hcm.rds-route-config-exists',
        origin: 'envoy-runtime',
        path: `${at}.rds.route_config_name`,
        message: `RDS route_config_name '${routeName}' is not in the snapshot`,
        note: 'the listener warms until initial_fetch_timeout (15 s), then every request gets 404 (no route)',
        source: { file: 'source/common/router/rds_impl.cc', fn: 'RdsRouteConfigSubscription::RdsRouteConfigSubscription' },
      });
    }
  }
  if (routes) checkDfpRoutes(routes, dfpFilter, `${at}.http_filters`, index, report);
}

/** Routes to a dynamic forward proxy cluster need the DFP filter, resolving into the cluster's own DNS cache. */
function checkDfpRoutes(routes: Json, dfpFilter: Json | undefined, at: string, index: SnapshotIndex, report: Report): void {
  const reported = new Set<string>();
  list(routes.virtual_hosts).forEach((v, i) => {
    list(obj(v)?.routes).forEach((r, k) => {
      for (const [clusterName] of clustersNamed(obj(r) ?? {}, `virtual_hosts[${i}].routes[${k}]`)) {
        const cluster = index.clusters.get(clusterName);
        const cache = cluster ? dfpClusterCache(cluster) : undefined;
        if (!cache || reported.has(clusterName)) continue;
        const source = { file: 'source/extensions/clusters/dynamic_forward_proxy/cluster.cc', fn: 'Cluster::LoadBalancer::chooseHost' };
        if (!dfpFilter) {
          reported.add(clusterName);
          report({
            rule: 'hcm.dfp-filter-required',
            origin: 'envoy-runtime',
            path: at,
            message: `routes use the dynamic forward proxy cluster '${clusterName}' but there is no ${DFP_FILTER} filter`,
            note: 'the cluster only knows hosts the filter resolved ("host {} not found"), so every such request gets 503',
            source,
          });
        } else if (str(dfpFilter.name) !== str(cache.name)) {
          reported.add(clusterName);
          report({
            rule: 'hcm.dfp-shared-dns-cache',
            origin: 'envoy-runtime',
            path: `${at}.dns_cache_config.name`,
            message: `the ${DFP_FILTER} filter resolves into DNS cache '${str(dfpFilter.name) ?? ''}' but cluster '${clusterName}' reads '${str(cache.name) ?? ''}'`,
            note: 'the cluster never sees the filter\'s answers ("host {} not found"), so every such request gets 503',
            source,
          });
        }
      }
    });
  });
}

/** ext_authz, ext_proc and ALS reach Tollgate through an Envoy gRPC cluster, which must exist and speak HTTP/2. */
function checkGrpcService(grpc: Json, at: string, index: SnapshotIndex, report: Report): void {
  const clusterName = str(obj(grpc.envoy_grpc)?.cluster_name);
  if (clusterName === undefined) return;
  const cluster = index.clusters.get(clusterName);
  if (!cluster) {
    report({
      rule: 'grpc.cluster-exists',
      origin: 'envoy-runtime',
      path: `${at}.envoy_grpc.cluster_name`,
      message: `gRPC service cluster '${clusterName}' is not in the snapshot: every call ends UNAVAILABLE "Cluster not available"`,
      note: 'HTTP filters skip the cluster check at load time; ext_authz and ext_proc then fail closed (status_on_error) on every request',
      source: { file: 'source/common/grpc/async_client_impl.cc', fn: 'AsyncStreamImpl::initialize' },
    });
  } else if (!isHttp2Cluster(cluster)) {
    report({
      rule: 'grpc.cluster-http2',
      origin: 'envoy-runtime',
      path: `${at}.envoy_grpc.cluster_name`,
      message: `gRPC service cluster '${clusterName}' is not HTTP/2 (typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options)`,
      note: 'Envoy speaks HTTP/1.1 to a cluster unless told otherwise, and gRPC over HTTP/1.1 fails on every call',
      source: { file: 'source/extensions/upstreams/http/config.cc', fn: 'ProtocolOptionsConfigImpl::ProtocolOptionsConfigImpl' },
    });
  }
}

function checkAccessLogs(logs: unknown, at: string, index: SnapshotIndex, report: Report): void {
  list(logs).forEach((l, i) => {
    const grpc = obj(obj(obj(obj(l)?.typed_config)?.common_config)?.grpc_service);
    if (grpc) checkGrpcService(grpc, `${at}[${i}].typed_config.common_config.grpc_service`, index, report);
  });
}

/** Downstream TLS: a certificate, a CA whenever client certificates are required, and SDS names that resolve. */
function checkDownstreamTls(chain: Json, chainAt: string, index: SnapshotIndex, report: Report): void {
  const socket = obj(chain.transport_socket);
  if (!socket || anyType(socket.typed_config) !== DOWNSTREAM_TLS) return;
  const tls = obj(socket.typed_config) ?? {};
  const common = obj(tls.common_tls_context) ?? {};
  const at = `${chainAt}.transport_socket.typed_config`;
  const serverContext = { file: 'source/common/tls/server_context_config_impl.cc', fn: 'ServerContextConfigImpl::ServerContextConfigImpl' };
  const inline = list(common.tls_certificates);
  const sds = list(common.tls_certificate_sds_secret_configs);
  if (inline.length + sds.length === 0 && common.custom_tls_certificate_selector === undefined) {
    report({ rule: 'tls.server-certificate', origin: 'envoy-rejects', path: `${at}.common_tls_context`, message: 'No TLS certificates found for server context', source: serverContext });
  } else if (inline.length > 0 && sds.length > 0) {
    report({ rule: 'tls.server-certificate', origin: 'envoy-rejects', path: `${at}.common_tls_context`, message: 'SDS and non-SDS TLS certificates may not be mixed in server contexts', source: serverContext });
  }
  sds.forEach((ref, i) => checkSdsReference(ref, 'tls_certificate', 'downstream', `${at}.common_tls_context.tls_certificate_sds_secret_configs[${i}]`, index, report));
  const combined = obj(common.combined_validation_context);
  const validationRefs: Array<[unknown, string]> = [];
  if (common.validation_context_sds_secret_config !== undefined) validationRefs.push([common.validation_context_sds_secret_config, `${at}.common_tls_context.validation_context_sds_secret_config`]);
  if (combined?.validation_context_sds_secret_config !== undefined) validationRefs.push([combined.validation_context_sds_secret_config, `${at}.common_tls_context.combined_validation_context.validation_context_sds_secret_config`]);
  for (const [ref, path] of validationRefs) checkSdsReference(ref, 'validation_context', 'downstream', path, index, report);

  if (boolValue(tls.require_client_certificate)) {
    const inlineCa = [obj(common.validation_context), obj(combined?.default_validation_context)].some((c) => c?.trusted_ca !== undefined);
    if (!inlineCa && validationRefs.length === 0) {
      report({
        rule: 'tls.client-certificate-ca',
        origin: 'envoy-runtime',
        path: `${at}.require_client_certificate`,
        message: 'require_client_certificate is set but there is no validation context with a trusted CA (inline or SDS)',
        note: 'Envoy then neither requests nor verifies client certificates: it sets SSL_VERIFY_FAIL_IF_NO_PEER_CERT only when a CA is configured',
        source: { file: 'source/common/tls/cert_validator/default_validator.cc', fn: 'DefaultCertValidator::addClientValidationContext' },
      });
    }
  }
}
