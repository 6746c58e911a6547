import type { CompiledPolicy } from '../../policy/compile.js';
import { encodeMessage } from '../../proto/strict/encode.js';
import { TYPE_URL } from '../types.js';
import { dfpPlainCluster, dfpTlsCluster, encodeOriginCluster, encodeTunnelCluster, originClusterResource, tollgateCluster, tunnelClusterResource } from './clusters.js';
import { egressListener } from './listener.js';
import { DFP_PLAIN_CLUSTER, DFP_TLS_CLUSTER, EGRESS_ROUTES, TOLLGATE_CLUSTER, originCluster, tunnelCluster } from './names.js';
import type { XdsOptions } from './options.js';
import { destinationsOf, encodeRouteConfiguration, routeConfigurationJson, routePlan, type PartCache } from './routes.js';

type Json = Record<string, unknown>;

/** One resource in canonical proto-JSON (what Envoy YAML would say), before encoding. */
export interface ResourceJson {
  typeUrl: string;
  typeName: string;
  name: string;
  json: Record<string, unknown>;
  refs?: { clusters?: string[]; routes?: string[] };
}

/**
 * One resource of the snapshot before it exists as JSON or bytes: what the publisher works from. `json()` is the
 * resource as buildResources returns it; `encode()` gives exactly the bytes of encodeMessage(typeName, json()), by
 * hand-written encoders for the shapes there are thousands of (tests compare them), so a publish builds no JSON.
 */
export interface ResourcePlan {
  typeUrl: string;
  typeName: string;
  name: string;
  refs?: { clusters?: string[]; routes?: string[] };
  /**
   * Plans of the same type with equal memo keys encode to the same bytes under the same options (the publisher's
   * options never change), so an encoding can be reused; undefined when the resource must be encoded every time.
   */
  memoKey: string | undefined;
  json(): Json;
  /** `parts` caches pieces of large resources across snapshots (the route configuration's virtual hosts). */
  encode(parts?: PartCache): Buffer;
}

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const LISTENER = 'envoy.config.listener.v3.Listener';

/** Policy → the listeners, routes and clusters of an egress gateway. Pure; encoding happens elsewhere. */
export function buildResources(policy: CompiledPolicy, opts: XdsOptions): ResourceJson[] {
  return planResources(policy, opts).map((p) => ({ typeUrl: p.typeUrl, typeName: p.typeName, name: p.name, json: p.json(), ...(p.refs ? { refs: p.refs } : {}) }));
}

/**
 * What buildResources builds, in the same order, as plans. The few resources that depend on the options (Tollgate's
 * cluster, the dynamic forward proxy clusters, the listener) are encoded from their JSON with the strict check.
 */
export function planResources(policy: CompiledPolicy, opts: XdsOptions): ResourcePlan[] {
  const destinations = destinationsOf(policy);
  const routes = routePlan(destinations);
  const needed = new Set(routes.clusters);
  const withDfp = needed.has(DFP_TLS_CLUSTER) || needed.has(DFP_PLAIN_CLUSTER);
  const clusters: ResourcePlan[] = [checkedCluster(TOLLGATE_CLUSTER, () => tollgateCluster(opts))];
  if (needed.has(DFP_TLS_CLUSTER)) clusters.push(checkedCluster(DFP_TLS_CLUSTER, () => dfpTlsCluster(opts)));
  if (needed.has(DFP_PLAIN_CLUSTER)) clusters.push(checkedCluster(DFP_PLAIN_CLUSTER, () => dfpPlainCluster()));
  const seen = new Set<string>();
  for (const d of destinations) {
    if (d.wildcard) continue;
    const { scheme, host, port } = d;
    const origin = originCluster(scheme, host, port);
    if (needed.has(origin) && !seen.has(origin)) {
      seen.add(origin);
      clusters.push({
        typeUrl: TYPE_URL.cluster,
        typeName: CLUSTER,
        name: origin,
        // The name spells scheme, host and port, all the cluster depends on besides the options.
        memoKey: origin,
        json: () => originClusterResource(origin, scheme, host, port, opts),
        encode: () => encodeOriginCluster(origin, scheme, host, port, opts),
      });
    }
    const tunnel = tunnelCluster(host, port);
    if (needed.has(tunnel) && !seen.has(tunnel)) {
      seen.add(tunnel);
      clusters.push({
        typeUrl: TYPE_URL.cluster,
        typeName: CLUSTER,
        name: tunnel,
        memoKey: tunnel,
        json: () => tunnelClusterResource(tunnel, host, port),
        encode: () => encodeTunnelCluster(tunnel, host, port),
      });
    }
  }
  const listenerJson = () => egressListener(opts, withDfp);
  return [
    ...clusters,
    {
      typeUrl: TYPE_URL.route,
      typeName: ROUTE_CONFIGURATION,
      name: EGRESS_ROUTES,
      refs: { clusters: routes.clusters },
      memoKey: undefined,
      json: () => routeConfigurationJson(routes),
      encode: (parts) => encodeRouteConfiguration(routes, parts),
    },
    {
      typeUrl: TYPE_URL.listener,
      typeName: LISTENER,
      name: 'egress_http',
      refs: { routes: [EGRESS_ROUTES], clusters: [TOLLGATE_CLUSTER] },
      memoKey: withDfp ? 'dfp' : 'plain',
      json: listenerJson,
      encode: () => encodeMessage(LISTENER, listenerJson()),
    },
  ];
}

function checkedCluster(name: string, json: () => Json): ResourcePlan {
  return { typeUrl: TYPE_URL.cluster, typeName: CLUSTER, name, memoKey: name, json, encode: () => encodeMessage(CLUSTER, json()) };
}
