import { encodeMessage } from '../../proto/strict/encode.js';
import { TYPE_URL } from '../types.js';
import { EGRESS_ROUTES } from './names.js';
import { CatchAllVirtualHost, DestinationVirtualHost, TOLLGATE_HEADERS, destinationClusters, destinationVirtualHostJson, encodeDestinationVirtualHost, sameDestinations, type EncodedPart, type PartCache, type RoutePlan } from './routes.js';

type Json = Record<string, unknown>;

/**
 * VHDS: what gateways on delta ADS get instead of the one large route configuration, so that a change to one
 * destination costs one small VirtualHost (and its clusters) per gateway instead of the whole route table.
 *
 * How Envoy does it (read in envoyproxy/envoy):
 * - A RouteConfiguration with `vhds` starts a VhdsSubscription (rds_impl.cc RdsRouteConfigSubscription::
 *   beforeProviderUpdate, only when the vhds field changed), which must be delta: `ads` with a DELTA_GRPC ADS
 *   stream, or an api_config_source of DELTA_GRPC (vhds.cc VhdsSubscription::createVhdsSubscription). SotW gateways
 *   therefore keep the whole route configuration.
 * - The subscription starts with the route configuration's name and namespace matching (vhds.cc VhdsSubscription
 *   constructor: `subscription_->start({name})`, `use_namespace_matching_ = true`); the watch map hands it every
 *   VirtualHost resource whose name up to the last `/` is that name (watch_map.cc WatchMap::watchesInterestedIn,
 *   namespaceFromName). The delta subscription state passes unrequested resources on to the watch map
 *   (delta_subscription_state.cc DeltaSubscriptionState::handleGoodResponse), so the server may push every virtual
 *   host eagerly, without on-demand requests: no on_demand filter is needed, and none is configured. A host with no
 *   virtual host (yet) meets the RDS catch-all: default deny (403 in Envoy) and the `port: "*"` forward-proxy routes
 *   keep working, because exact and wildcard domains win over `*` whatever the order (config_impl.cc
 *   RouteMatcher::findVirtualHost).
 * - VHDS virtual hosts are kept in a map keyed by VirtualHost.name, and `removed_resources` are looked up in that map
 *   (route_config_update_receiver_impl.cc RouteConfigUpdateReceiverImpl::updateVhosts / removeVhosts), so each
 *   resource's name is its VirtualHost's name: `egress_http/<host>`. The route table is rebuilt from the RDS virtual
 *   hosts followed by the VHDS ones (rebuildRouteConfig) and checked as one RouteConfiguration (ConfigImpl): domains
 *   must stay unique across both, which they are (RDS keeps only the `*` catch-all).
 * - The VHDS init target is ready on the first VHDS update (vhds.cc VhdsSubscription::onConfigUpdate), which Envoy
 *   only calls for a response naming a resource in the namespace; with no destination virtual host the server answers
 *   `removed_resources: ["egress_http"]` (server/delta.ts) so a gateway does not wait out initial_fetch_timeout.
 */
export const VHDS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' };

const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
export const VIRTUAL_HOST = 'envoy.config.route.v3.VirtualHost';

/** The VHDS resource (and VirtualHost) name of a destination host's virtual host. */
export function vhdsName(host: string, routeConfig = EGRESS_ROUTES): string {
  return `${routeConfig}/${host}`;
}

const NAME_PREFIX = Buffer.from(`${EGRESS_ROUTES}/`);

/** The route configuration a VHDS gateway gets: the catch-all only, and `vhds` over ADS. */
export function vhdsRouteConfigurationJson(plan: RoutePlan): Json {
  const catchAll = plan.virtualHosts.filter((v) => v instanceof CatchAllVirtualHost).map((v) => v.json());
  return { name: EGRESS_ROUTES, virtual_hosts: catchAll, request_headers_to_remove: [...TOLLGATE_HEADERS], vhds: { config_source: VHDS_CONFIG_SOURCE } };
}

/** Clusters the catch-all's routes name (the forward proxy for any-port hosts and report mode). */
export function catchAllClusters(plan: RoutePlan): string[] {
  const names = new Set<string>();
  for (const v of plan.virtualHosts) {
    if (!(v instanceof CatchAllVirtualHost)) continue;
    for (const r of (v.json().routes ?? []) as Json[]) {
      const cluster = (r.route as Json | undefined)?.cluster;
      if (typeof cluster === 'string') names.add(cluster);
    }
  }
  return [...names];
}

/** The VHDS route configuration, as a plan: small, encoded with the strict encoder every time. */
export class VhdsRouteConfigurationPlan {
  readonly typeUrl = TYPE_URL.route;
  readonly typeName = ROUTE_CONFIGURATION;
  readonly name = EGRESS_ROUTES;
  readonly memoKey = undefined;
  readonly audience = 'vhds' as const;
  readonly refs: { clusters: string[] };

  constructor(private readonly routes: RoutePlan) {
    this.refs = { clusters: catchAllClusters(routes) };
  }

  json(): Json {
    return vhdsRouteConfigurationJson(this.routes);
  }

  encode(): Buffer {
    return encodeMessage(ROUTE_CONFIGURATION, this.json());
  }
}

/** One destination host's virtual host as a VHDS resource; its encoding is kept by host across snapshots. */
export class VhdsVirtualHostPlan {
  readonly typeUrl = TYPE_URL.virtualHost;
  readonly typeName = VIRTUAL_HOST;
  readonly name: string;
  readonly audience = 'vhds' as const;
  private clusterRefs: { clusters: string[] } | undefined;

  constructor(private readonly vh: DestinationVirtualHost) {
    this.name = vhdsName(vh.host);
  }

  /**
   * Everything the encoding depends on (the name spells the host): per destination, in order, scheme, port, CONNECT
   * and wildcard, as sameDestinations compares them. An unchanged host reuses the last resource without encoding.
   */
  get memoKey(): string {
    let key = '';
    for (const d of this.vh.dests) key += `${d.scheme === 'https' ? 's' : 'p'}${d.port}${d.connect ? 'c' : ''}${d.wildcard ? 'w' : ''};`;
    return key;
  }

  /** Computed only for a resource that is (re)made: an unchanged host's refs come with its reused resource. */
  get refs(): { clusters: string[] } {
    return (this.clusterRefs ??= { clusters: [...new Set(destinationClusters(this.vh.dests))] });
  }

  json(): Json {
    return destinationVirtualHostJson(this.vh.host, this.vh.dests, this.name);
  }

  encode(parts?: PartCache): Buffer {
    // Part keys of the RDS route configuration are hosts (and \u0000-prefixed catch-alls): \u0001 keeps these apart.
    const key = `\u0001${this.vh.host}`;
    const cached = parts?.get(key);
    if (cached?.source && sameDestinations(cached.source, this.vh.dests)) {
      parts?.set(key, cached);
      return cached.bytes;
    }
    const part: EncodedPart = { bytes: encodeDestinationVirtualHost(this.vh.host, this.vh.dests, NAME_PREFIX, false), source: this.vh.dests };
    parts?.set(key, part);
    return part.bytes;
  }
}

/** The VHDS plans of a route plan: its route configuration, then one VirtualHost per destination host. */
export function vhdsPlans(routes: RoutePlan): Array<VhdsRouteConfigurationPlan | VhdsVirtualHostPlan> {
  const plans: Array<VhdsRouteConfigurationPlan | VhdsVirtualHostPlan> = [new VhdsRouteConfigurationPlan(routes)];
  for (const v of routes.virtualHosts) if (v instanceof DestinationVirtualHost) plans.push(new VhdsVirtualHostPlan(v));
  return plans;
}
