import type { CompiledPolicy } from '../../policy/compile.js';
import { TYPE_URL } from '../types.js';
import { dfpPlainCluster, dfpTlsCluster, originClusterResource, tollgateCluster, tunnelClusterResource } from './clusters.js';
import { egressListener } from './listener.js';
import { DFP_PLAIN_CLUSTER, DFP_TLS_CLUSTER, EGRESS_ROUTES, TOLLGATE_CLUSTER, originCluster, tunnelCluster } from './names.js';
import type { XdsOptions } from './options.js';
import { destinationsOf, routeConfiguration } from './routes.js';

/** One resource in canonical proto-JSON (what Envoy YAML would say), before encoding. */
export interface ResourceJson {
  typeUrl: string;
  typeName: string;
  name: string;
  json: Record<string, unknown>;
  refs?: { clusters?: string[]; routes?: string[] };
}

/** Policy → the listeners, routes and clusters of an egress gateway. Pure; encoding happens elsewhere. */
export function buildResources(policy: CompiledPolicy, opts: XdsOptions): ResourceJson[] {
  const destinations = destinationsOf(policy);
  const routes = routeConfiguration(destinations);
  const needed = new Set(routes.clusters);
  const withDfp = needed.has(DFP_TLS_CLUSTER) || needed.has(DFP_PLAIN_CLUSTER);
  const clusters: ResourceJson[] = [cluster(TOLLGATE_CLUSTER, tollgateCluster(opts))];
  if (needed.has(DFP_TLS_CLUSTER)) clusters.push(cluster(DFP_TLS_CLUSTER, dfpTlsCluster(opts)));
  if (needed.has(DFP_PLAIN_CLUSTER)) clusters.push(cluster(DFP_PLAIN_CLUSTER, dfpPlainCluster()));
  const seen = new Set<string>();
  for (const d of destinations) {
    if (d.wildcard) continue;
    const origin = originCluster(d.scheme, d.host, d.port);
    if (needed.has(origin) && !seen.has(origin)) {
      seen.add(origin);
      clusters.push(cluster(origin, originClusterResource(origin, d.scheme, d.host, d.port, opts)));
    }
    const tunnel = tunnelCluster(d.host, d.port);
    if (needed.has(tunnel) && !seen.has(tunnel)) {
      seen.add(tunnel);
      clusters.push(cluster(tunnel, tunnelClusterResource(tunnel, d.host, d.port)));
    }
  }
  return [
    ...clusters,
    { typeUrl: TYPE_URL.route, typeName: 'envoy.config.route.v3.RouteConfiguration', name: EGRESS_ROUTES, json: routes.json, refs: { clusters: routes.clusters } },
    { typeUrl: TYPE_URL.listener, typeName: 'envoy.config.listener.v3.Listener', name: 'egress_http', json: egressListener(opts, withDfp), refs: { routes: [EGRESS_ROUTES], clusters: [TOLLGATE_CLUSTER] } },
  ];
}

function cluster(name: string, json: Record<string, unknown>): ResourceJson {
  return { typeUrl: TYPE_URL.cluster, typeName: 'envoy.config.cluster.v3.Cluster', name, json };
}
