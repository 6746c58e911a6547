import type { CompiledPolicy } from '../../policy/compile.js';
import { encodeMessage } from '../../proto/strict/encode.js';
import { TYPE_URL } from '../types.js';
import { TOLLGATE_CLIENT_CERT_SECRET, TOLLGATE_SERVER_CA_SECRET, dfpPlainCluster, dfpTlsCluster, encodeOriginCluster, encodeTunnelCluster, originClusterResource, tollgateCluster, tollgateSecrets, tunnelClusterResource } from './clusters.js';
import { downstreamSecrets, egressListener, type ListenerNeeds } from './listener.js';
import { DFP_PLAIN_CLUSTER, DFP_TLS_CLUSTER, DOWNSTREAM_CA_SECRET, DOWNSTREAM_CERT_SECRET, EGRESS_ROUTES, TOLLGATE_CLUSTER } from './names.js';
import type { XdsOptions } from './options.js';
import { vhdsPlans } from './vhds.js';
import { collectDestinations, encodeRouteConfiguration, httpClusterFor, tunnelClusterFor, routeConfigurationJson, routePlan, type PartCache, type RoutePlan } from './routes.js';

type Json = Record<string, unknown>;

/** One resource in canonical proto-JSON (what Envoy YAML would say), before encoding. */
export interface ResourceJson {
  typeUrl: string;
  typeName: string;
  name: string;
  json: Record<string, unknown>;
  refs?: { clusters?: string[]; routes?: string[]; secrets?: string[] };
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
  refs?: { clusters?: string[]; routes?: string[]; secrets?: string[] };
  /**
   * Plans of the same type with equal memo keys encode to the same bytes under the same options (the publisher's
   * options never change), so an encoding can be reused; undefined when the resource must be encoded every time.
   */
  memoKey: string | undefined;
  json(): Json;
  /** `parts` caches pieces of large resources across snapshots (the route configuration's virtual hosts). */
  encode(parts?: PartCache): Buffer;
  /**
   * Which gateways get it when the plans were made with VHDS: 'sotw' (the whole route configuration, for SotW and
   * non-Envoy clients), 'vhds' (the VHDS route configuration and virtual hosts, for Envoys on delta ADS); undefined:
   * every gateway.
   */
  audience?: 'sotw' | 'vhds';
}

/** Which set of resources a gateway gets: the whole route configuration (SotW), or VHDS (Envoy on delta ADS). */
export type ResourceVariant = 'sotw' | 'vhds';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const LISTENER = 'envoy.config.listener.v3.Listener';
const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';

/** Policy → the listeners, routes and clusters of an egress gateway. Pure; encoding happens elsewhere. */
export function buildResources(policy: CompiledPolicy, opts: XdsOptions, variant: ResourceVariant = 'sotw'): ResourceJson[] {
  const plans = planResources(policy, opts, variant === 'vhds').filter((p) => p.audience === undefined || p.audience === variant);
  return plans.map((p) => ({ typeUrl: p.typeUrl, typeName: p.typeName, name: p.name, json: p.json(), ...(p.refs ? { refs: p.refs } : {}) }));
}

/**
 * What buildResources builds, in the same order, as plans. The few resources that depend on the options (Tollgate's
 * cluster, the dynamic forward proxy clusters, the listener) are encoded from their JSON with the strict check.
 */
export function planResources(policy: CompiledPolicy, opts: XdsOptions, withVhds = false): ResourcePlan[] {
  const destinations = collectDestinations(policy);
  const reportCatchAll = policy.defaultMode === 'report' || [...policy.identityModes.values()].includes('report');
  const routes = routePlan(destinations, { reportCatchAll });
  const withDfp = routes.dfpTls || routes.dfpPlain;
  const tollgateRefs = opts.tollgateTls ? { secrets: [TOLLGATE_CLIENT_CERT_SECRET, TOLLGATE_SERVER_CA_SECRET] } : undefined;
  const clusters: ResourcePlan[] = [checkedCluster(TOLLGATE_CLUSTER, () => tollgateCluster(opts), tollgateRefs)];
  if (routes.dfpTls) clusters.push(checkedCluster(DFP_TLS_CLUSTER, () => dfpTlsCluster(opts)));
  if (routes.dfpPlain) clusters.push(checkedCluster(DFP_PLAIN_CLUSTER, () => dfpPlainCluster()));
  for (const d of destinations.list) {
    if (d.wildcard) continue;
    // Every exact destination's route names its origin cluster (one per host, scheme and port).
    clusters.push(new OriginClusterPlan(httpClusterFor(d), d.scheme, d.host, d.port, opts));
    if (routes.tunnels.has(d)) clusters.push(new TunnelClusterPlan(tunnelClusterFor(d), d.host, d.port));
  }
  const needs: ListenerNeeds = { withDfp, bufferLimitBytes: policy.document.scrub.bufferLimitBytes };
  const listenerJson = (): Json => egressListener(opts, needs);
  const mtls = opts.downstream.mode === 'mtls';
  // Secrets are encoded every time (two small resources); an unchanged one keeps its version, so only a rotated
  // certificate is pushed again.
  const secrets: ResourcePlan[] = [...downstreamSecrets(opts), ...tollgateSecrets(opts)].map((json) => ({
    typeUrl: TYPE_URL.secret,
    typeName: SECRET,
    name: json.name as string,
    memoKey: undefined,
    json: () => json,
    encode: () => encodeMessage(SECRET, json),
  }));
  const routeConfiguration = new RouteConfigurationPlan(routes);
  if (withVhds) routeConfiguration.audience = 'sotw';
  return [
    ...secrets,
    ...clusters,
    routeConfiguration,
    ...(withVhds ? vhdsPlans(routes) : []),
    {
      typeUrl: TYPE_URL.listener,
      typeName: LISTENER,
      name: 'egress_http',
      refs: { routes: [EGRESS_ROUTES], clusters: [TOLLGATE_CLUSTER], ...(mtls ? { secrets: [DOWNSTREAM_CERT_SECRET, DOWNSTREAM_CA_SECRET] } : {}) },
      // Everything the listener depends on besides options that never change within one publisher.
      memoKey: `${withDfp ? 'dfp' : 'plain'}|${needs.bufferLimitBytes}|${opts.downstream.mode}`,
      json: listenerJson,
      encode: () => encodeMessage(LISTENER, listenerJson()),
    },
  ];
}

// Classes rather than object literals with closures: a publish makes one plan per cluster, tens of thousands.

/** A cluster to one exact destination; its name spells scheme, host and port, all it depends on besides the options. */
class OriginClusterPlan implements ResourcePlan {
  readonly typeUrl = TYPE_URL.cluster;
  readonly typeName = CLUSTER;
  readonly memoKey: string;

  constructor(
    readonly name: string,
    private readonly scheme: 'http' | 'https',
    private readonly host: string,
    private readonly port: number,
    private readonly opts: XdsOptions,
  ) {
    this.memoKey = name;
  }

  json(): Json {
    return originClusterResource(this.name, this.scheme, this.host, this.port, this.opts);
  }

  encode(): Buffer {
    return encodeOriginCluster(this.name, this.scheme, this.host, this.port, this.opts);
  }
}

class TunnelClusterPlan implements ResourcePlan {
  readonly typeUrl = TYPE_URL.cluster;
  readonly typeName = CLUSTER;
  readonly memoKey: string;

  constructor(
    readonly name: string,
    private readonly host: string,
    private readonly port: number,
  ) {
    this.memoKey = name;
  }

  json(): Json {
    return tunnelClusterResource(this.name, this.host, this.port);
  }

  encode(): Buffer {
    return encodeTunnelCluster(this.name, this.host, this.port);
  }
}

/** Encoded every time, from the virtual hosts the caller's part cache already has. */
class RouteConfigurationPlan implements ResourcePlan {
  readonly typeUrl = TYPE_URL.route;
  readonly typeName = ROUTE_CONFIGURATION;
  readonly name = EGRESS_ROUTES;
  readonly memoKey = undefined;
  readonly refs: { clusters: string[] };
  audience: 'sotw' | undefined;

  constructor(private readonly routes: RoutePlan) {
    this.refs = { clusters: routes.clusters };
  }

  json(): Json {
    return routeConfigurationJson(this.routes);
  }

  encode(parts?: PartCache): Buffer {
    return encodeRouteConfiguration(this.routes, parts);
  }
}

function checkedCluster(name: string, json: () => Json, refs?: ResourcePlan['refs']): ResourcePlan {
  return { typeUrl: TYPE_URL.cluster, typeName: CLUSTER, name, memoKey: name, json, encode: () => encodeMessage(CLUSTER, json()), ...(refs ? { refs } : {}) };
}
