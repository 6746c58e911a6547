import { list, obj, str, type Json, type SemanticProblem, type SnapshotIndex } from './problem.js';

const CONFIG_IMPL = 'source/common/router/config_impl.cc';
const ROUTE_MATCHER = { file: CONFIG_IMPL, fn: 'RouteMatcher::RouteMatcher' };

/**
 * RouteConfiguration rules Envoy applies when it builds the route table (ConfigImpl), beyond validate.rules:
 * unique domains, wildcard shapes, unique virtual host names, clusters that exist, removable headers.
 */
export function checkRouteConfiguration(name: string, rc: Json, index: SnapshotIndex): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const report = (p: Omit<SemanticProblem, 'resource'>) => problems.push({ resource: { type: 'RouteConfiguration', name }, ...p });
  const routeName = str(rc.name) ?? '';

  // RouteMatcher::RouteMatcher keys exact, suffix (`*x`) and prefix (`x*`) domains in three maps, lower-cased.
  const seen = { exact: new Map<string, string>(), suffix: new Map<string, string>(), prefix: new Map<string, string>() };
  let catchAll: string | undefined;
  const vhostNames = new Map<string, string>();
  list(rc.virtual_hosts).forEach((v, i) => {
    const vhost = obj(v) ?? {};
    const at = `virtual_hosts[${i}]`;
    const vhostName = str(vhost.name) ?? '';
    const firstNamed = vhostNames.get(vhostName);
    if (firstNamed !== undefined) {
      report({
        rule: 'route.unique-virtual-host-names',
        origin: 'envoy-runtime',
        path: `${at}.name`,
        message: `virtual host name "${vhostName}" is also used by ${firstNamed}`,
        note: 'Envoy keeps RDS virtual hosts in a std::map keyed by name and rebuilds the route table from it (in the versions read), so only the first survives and this one is dropped with its domains and routes',
        source: { file: 'source/common/router/route_config_update_receiver_impl.cc', fn: 'RouteConfigUpdateReceiverImpl::initializeRdsVhosts' },
      });
    } else vhostNames.set(vhostName, at);

    list(vhost.domains).forEach((d, j) => {
      const domain = (str(d) ?? '').toLowerCase();
      const path = `${at}.domains[${j}]`;
      if (domain === '*') {
        if (catchAll !== undefined) {
          report({ rule: 'route.single-catch-all', origin: 'envoy-rejects', path, message: `Only a single wildcard domain is permitted in route ${routeName}`, note: `the first "*" is at ${catchAll}`, source: ROUTE_MATCHER });
        } else catchAll = path;
        return;
      }
      const stars = domain.split('*').length - 1;
      if (stars > 1 || (stars === 1 && !domain.startsWith('*') && !domain.endsWith('*'))) {
        report({
          rule: 'route.domain-wildcard-shape',
          origin: 'tollgate',
          path,
          message: `domain "${domain}": "*" is a wildcard only as the whole domain, its first character (suffix match) or its last (prefix match), once`,
          note: 'Envoy takes any other "*" literally, so no Host header reaches this virtual host through this domain',
          source: { file: CONFIG_IMPL, fn: 'RouteMatcher::findVirtualHost' },
        });
      }
      const [kind, key] = domain.startsWith('*') ? (['suffix', domain.slice(1)] as const) : domain.endsWith('*') ? (['prefix', domain.slice(0, -1)] as const) : (['exact', domain] as const);
      const first = seen[kind].get(key);
      if (first !== undefined) {
        report({
          rule: 'route.unique-domains',
          origin: 'envoy-rejects',
          path,
          message: `Only unique values for domains are permitted. Duplicate entry of domain ${domain} in route ${routeName}`,
          note: `the first is at ${first}; Envoy NACKs the whole RouteConfiguration`,
          source: ROUTE_MATCHER,
        });
      } else seen[kind].set(key, path);
    });

    checkHeadersToRemove(vhost, at, report);
    list(vhost.routes).forEach((r, k) => {
      const route = obj(r) ?? {};
      const routeAt = `${at}.routes[${k}]`;
      checkHeadersToRemove(route, routeAt, report);
      for (const [cluster, path] of clustersNamed(route, routeAt)) {
        if (index.clusters.has(cluster)) continue;
        report({
          rule: 'route.cluster-exists',
          origin: rc.validate_clusters === true || obj(rc.validate_clusters)?.value === true ? 'envoy-rejects' : 'envoy-runtime',
          path,
          message: `route: unknown cluster '${cluster}'`,
          note: 'over RDS validate_clusters defaults to false: Envoy accepts the route and answers each matching request with 503 (cluster_not_found_response_code)',
          source: { file: CONFIG_IMPL, fn: 'RouteEntryImplBase::validateClusters' },
        });
      }
    });
  });
  checkHeadersToRemove(rc, '', report);
  return problems;
}

/** Every cluster a route's action names, with its path: `route.cluster`, weighted clusters, mirror policies. */
export function clustersNamed(route: Json, at: string): Array<[string, string]> {
  const action = obj(route.route);
  if (!action) return [];
  const out: Array<[string, string]> = [];
  const cluster = str(action.cluster);
  if (cluster !== undefined) out.push([cluster, `${at}.route.cluster`]);
  list(obj(action.weighted_clusters)?.clusters).forEach((w, i) => {
    const name = str(obj(w)?.name);
    if (name) out.push([name, `${at}.route.weighted_clusters.clusters[${i}].name`]);
  });
  list(action.request_mirror_policies).forEach((m, i) => {
    const name = str(obj(m)?.cluster);
    if (name) out.push([name, `${at}.route.request_mirror_policies[${i}].cluster`]);
  });
  return out;
}

/** HeaderParser::configure refuses to remove `:`-headers and `host` (Http::HeaderUtility::isRemovableHeader). */
function checkHeadersToRemove(level: Json, at: string, report: (p: Omit<SemanticProblem, 'resource'>) => void): void {
  for (const field of ['request_headers_to_remove', 'response_headers_to_remove']) {
    list(level[field]).forEach((h, i) => {
      const header = str(h) ?? '';
      if (!header.startsWith(':') && header.toLowerCase() !== 'host') return;
      report({
        rule: 'route.removable-headers',
        origin: 'envoy-rejects',
        path: `${at === '' ? '' : `${at}.`}${field}[${i}]`,
        message: ':-prefixed or host headers may not be removed',
        source: { file: 'source/common/router/header_parser.cc', fn: 'HeaderParser::configure' },
      });
    });
  }
}
