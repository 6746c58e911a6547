import type { CompiledPolicy, CompiledRule } from '../../policy/compile.js';
import { encodeMessageUnchecked } from '../../proto/strict/encode.js';
import { ProtoWriter } from '../wire.js';
import { DFP_PLAIN_CLUSTER, DFP_TLS_CLUSTER, EGRESS_ROUTES, originCluster, tunnelCluster } from './names.js';

type Json = Record<string, unknown>;

/** A destination Envoy may forward to, merged over every rule and identity that allows it. */
export interface Destination {
  host: string;
  wildcard: boolean;
  scheme: 'http' | 'https';
  /** Concrete port; `*` rules produce no exact cluster (ext_authz still decides). */
  port: number;
  /** Some rule allows CONNECT to this host:port (no method/path restriction, or CONNECT listed). */
  connect: boolean;
}

export const TOLLGATE_HEADERS = ['x-tollgate-decision-id', 'x-tollgate-identity'];

function allowsConnect(rule: CompiledRule): boolean {
  return !rule.paths && (!rule.methods || rule.methods.has('CONNECT'));
}

/** Every distinct (host, scheme, port) the policy allows, in first-seen order. */
export function destinationsOf(policy: CompiledPolicy): Destination[] {
  const byKey = new Map<string, Destination>();
  for (const rule of policy.rules) {
    if (rule.port === '*') continue;
    const key = `${rule.host}|${rule.scheme}|${rule.port}`;
    const existing = byKey.get(key);
    if (existing) existing.connect ||= allowsConnect(rule);
    else byKey.set(key, { host: rule.host, wildcard: rule.wildcard, scheme: rule.scheme, port: rule.port, connect: allowsConnect(rule) });
  }
  return [...byKey.values()];
}

function hostForDomain(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';

/** Some fields of a message, encoded (protobuf messages concatenate, so these bytes can be spliced). */
function encodeMessageFields(typeName: string, json: Json): Buffer {
  return encodeMessageUnchecked(typeName, json);
}

const DENY_BODY = { inline_string: '{"error":"egress_denied","reason":"destination not in policy"}' };

/** The cluster that carries allowed plain-HTTP requests to a destination. */
export function httpClusterFor(d: Destination): string {
  if (d.wildcard) return d.scheme === 'https' ? DFP_TLS_CLUSTER : DFP_PLAIN_CLUSTER;
  return originCluster(d.scheme, d.host, d.port);
}

/** The cluster that carries CONNECT tunnels to a destination. */
export function tunnelClusterFor(d: Destination): string {
  return d.wildcard ? DFP_PLAIN_CLUSTER : tunnelCluster(d.host, d.port);
}

const portIs = (port: number) => [{ name: ':authority', string_match: { suffix: `:${port}` } }];

/** One route of a destination's virtual host, before it is written as JSON or encoded. */
interface RouteSpec {
  /** A CONNECT tunnel route (else plain HTTP, prefix "/"). */
  connect: boolean;
  cluster: string;
  /** Matches only requests whose :authority ends in `:port`; undefined for the bare-host HTTP route. */
  port: number | undefined;
}

/** The routes of one destination host, most specific first: CONNECT per port, HTTP per port, then the bare host. */
function routeSpecs(dests: readonly Destination[]): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const d of dests) {
    if (!d.connect) continue;
    routes.push({ connect: true, cluster: tunnelClusterFor(d), port: d.port });
  }
  dests.forEach((d, i) => {
    routes.push({ connect: false, cluster: httpClusterFor(d), port: i === 0 ? undefined : d.port });
  });
  // Most specific first: the bare-host route (index 0) must come after the port-specific ones.
  const first = routes.findIndex((r) => !r.connect && r.port === undefined);
  if (first !== -1) routes.push(...routes.splice(first, 1));
  return routes;
}

function routeJson(r: RouteSpec): Json {
  if (r.connect) {
    return { match: { connect_matcher: {}, headers: portIs(r.port as number) }, route: { cluster: r.cluster, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } };
  }
  const match = r.port === undefined ? { prefix: '/' } : { prefix: '/', headers: portIs(r.port) };
  return { match, route: { cluster: r.cluster, timeout: '30s' } };
}

/** One virtual host of the route configuration: its JSON, or its encoding, and a key that determines both. */
export interface VirtualHostPlan {
  /** Virtual hosts with equal keys are equal (a cache key for their encoding). */
  readonly key: string;
  json(): Json;
  /** The encoded `virtual_hosts` field of a RouteConfiguration (tag, length, VirtualHost). */
  encodeField(): Buffer;
}

function destinationVirtualHost(host: string, dests: readonly Destination[]): VirtualHostPlan {
  const domainHost = hostForDomain(host);
  const name = `dest|${host}`;
  const domains = () => [domainHost, ...dests.map((d) => `${domainHost}:${d.port}`)];
  let key = `${host}\u0000`;
  for (const d of dests) key += `${d.scheme}:${d.port}:${d.connect ? 1 : 0}:${d.wildcard ? 1 : 0},`;
  return {
    key,
    json: () => ({ name, domains: domains(), routes: routeSpecs(dests).map(routeJson) }),
    encodeField: () => encodeVirtualHostField(name, domains(), routeSpecs(dests)),
  };
}

const DEFAULT_DENY: Json = {
  name: 'default_deny',
  domains: ['*'],
  routes: [
    { match: { connect_matcher: {} }, direct_response: { status: 403, body: DENY_BODY } },
    { match: { prefix: '/' }, direct_response: { status: 403, body: DENY_BODY } },
  ],
};

let defaultDenyField: Buffer | undefined;

const DEFAULT_DENY_PLAN: VirtualHostPlan = {
  key: '\u0000default_deny',
  json: () => structuredClone(DEFAULT_DENY),
  encodeField: () => (defaultDenyField ??= encodeMessageFields(ROUTE_CONFIGURATION, { virtual_hosts: [DEFAULT_DENY] })),
};

export interface RoutePlan {
  virtualHosts: VirtualHostPlan[];
  /** Every cluster a route names, in first-use order. */
  clusters: string[];
}

/**
 * One virtual host per destination host (`host`, `host:port` for each allowed port); requests for any
 * other host meet the catch-all 403, so default deny holds in Envoy even when Tollgate is unreachable.
 * Fine-grained checks (identity, method, path) stay in ext_authz; routing only decides where allowed
 * traffic can go at all. A request without a port goes to the first port the policy names.
 */
export function routePlan(destinations: readonly Destination[]): RoutePlan {
  const byHost = new Map<string, Destination[]>();
  for (const d of destinations) {
    const list = byHost.get(d.host);
    if (list) list.push(d);
    else byHost.set(d.host, [d]);
  }
  const clusters = new Set<string>();
  const virtualHosts: VirtualHostPlan[] = [];
  for (const [host, dests] of byHost) {
    for (const d of dests) if (d.connect) clusters.add(tunnelClusterFor(d));
    for (const d of dests) clusters.add(httpClusterFor(d));
    virtualHosts.push(destinationVirtualHost(host, dests));
  }
  virtualHosts.push(DEFAULT_DENY_PLAN);
  return { virtualHosts, clusters: [...clusters] };
}

/** The RouteConfiguration JSON of a plan. */
export function routeConfigurationJson(plan: RoutePlan): Json {
  return { name: EGRESS_ROUTES, virtual_hosts: plan.virtualHosts.map((v) => v.json()), request_headers_to_remove: [...TOLLGATE_HEADERS] };
}

/** Encoded RouteConfiguration fields before and after `virtual_hosts` (name = 1, request_headers_to_remove = 8). */
let shell: { head: Buffer; tail: Buffer } | undefined;

/** A cache of encoded virtual hosts by key, kept by the caller across snapshots. */
export interface PartCache {
  get(key: string): Buffer | undefined;
  set(key: string, bytes: Buffer): void;
}

/**
 * The encoded RouteConfiguration of a plan: protobuf concatenates repeated embedded fields, so it is the encoded
 * name, each encoded virtual host (from `parts` when it has them) and the encoded request_headers_to_remove, and a
 * change re-encodes only the virtual hosts it touched. Same bytes as encoding routeConfigurationJson(plan).
 */
export function encodeRouteConfiguration(plan: RoutePlan, parts?: PartCache): Buffer {
  shell ??= {
    head: encodeMessageFields(ROUTE_CONFIGURATION, { name: EGRESS_ROUTES }),
    tail: encodeMessageFields(ROUTE_CONFIGURATION, { request_headers_to_remove: TOLLGATE_HEADERS }),
  };
  const chunks: Buffer[] = [shell.head];
  for (const vh of plan.virtualHosts) {
    let bytes = parts?.get(vh.key);
    if (!bytes) bytes = vh.encodeField();
    parts?.set(vh.key, bytes);
    chunks.push(bytes);
  }
  chunks.push(shell.tail);
  return Buffer.concat(chunks);
}

/** The route configuration (see routePlan) as JSON, and the clusters it names. */
export function routeConfiguration(destinations: readonly Destination[]): { json: Json; clusters: string[] } {
  const plan = routePlan(destinations);
  return { json: routeConfigurationJson(plan), clusters: plan.clusters };
}

// ---- Hand-written encoder for destination virtual hosts (one per destination host, thousands per snapshot): the
// bytes encodeMessage gives for { virtual_hosts: [<the JSON above>] } of a RouteConfiguration, fields in field-number
// order. test/xds/fast-encode.test.ts compares them over many generated policies; change both together.

const writer = new ProtoWriter(1024);

function writeAuthorityPort(w: ProtoWriter, port: number): void {
  const header = w.begin(6); // RouteMatch.headers[0]: HeaderMatcher
  w.string(1, ':authority'); // name
  const match = w.begin(13); // string_match (oneof header_match_specifier)
  w.string(3, `:${port}`); // suffix (oneof match_pattern)
  w.end(match).end(header);
}

function encodeVirtualHostField(name: string, domains: readonly string[], routes: readonly RouteSpec[]): Buffer {
  const w = writer.reset();
  const vh = w.begin(2); // RouteConfiguration.virtual_hosts[]
  if (name !== '') w.string(1, name); // VirtualHost.name
  for (const domain of domains) w.string(2, domain); // domains[]
  for (const r of routes) {
    const route = w.begin(3); // routes[]
    const match = w.begin(1); // Route.match
    if (r.connect) {
      writeAuthorityPort(w, r.port as number);
      w.empty(12); // connect_matcher (oneof path_specifier)
    } else {
      w.string(1, '/'); // prefix (oneof path_specifier)
      if (r.port !== undefined) writeAuthorityPort(w, r.port);
    }
    w.end(match);
    const action = w.begin(2); // Route.route (oneof action): RouteAction
    w.string(1, r.cluster); // cluster (oneof cluster_specifier)
    if (r.connect) {
      const upgrade = w.begin(25); // upgrade_configs[0]
      w.string(1, 'CONNECT'); // upgrade_type
      w.empty(3); // connect_config
      w.end(upgrade);
    } else {
      const timeout = w.begin(8); // timeout: Duration 30s
      w.uint32(1, 30).uint32(2, 0);
      w.end(timeout);
    }
    w.end(action).end(route);
  }
  w.end(vh);
  return w.finish();
}
