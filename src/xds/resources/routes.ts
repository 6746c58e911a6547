import type { CompiledPolicy, CompiledRule } from '../../policy/compile.js';
import { encodeMessageUnchecked } from '../../proto/strict/encode.js';
import { ProtoWriter, Utf8 } from '../wire.js';
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
  /** httpClusterFor / tunnelClusterFor, computed once. */
  httpCluster?: string;
  tunnelCluster?: string;
}

export const TOLLGATE_HEADERS = ['x-tollgate-decision-id', 'x-tollgate-identity'];

function allowsConnect(rule: CompiledRule): boolean {
  return !rule.paths && (!rule.methods || rule.methods.has('CONNECT'));
}

/** A host some rule allows on any port (`port: "*"`): no per-port cluster can exist, so it goes through the forward proxy. */
export interface AnyPortDestination {
  host: string;
  wildcard: boolean;
  scheme: 'http' | 'https';
  connect: boolean;
}

/** The destinations of a policy in first-seen order, grouped by host (hosts in first-seen order), and the any-port hosts. */
export interface Destinations {
  list: Destination[];
  byHost: Map<string, Destination[]>;
  anyPort: AnyPortDestination[];
}

/** Hosts with more destinations than this are searched by key rather than by scanning. */
const SCAN_LIMIT = 8;

/**
 * The same host and port under both schemes is one destination, and so one domain: Envoy rejects a whole
 * RouteConfiguration with a domain in two virtual hosts (config_impl.cc `RouteMatcher`: "Only unique values for
 * domains are permitted"). A port speaks one protocol, and Tollgate never downgrades: https wins.
 */
function mergeScheme(d: { scheme: 'http' | 'https' }, scheme: 'http' | 'https'): void {
  if (scheme === 'https') d.scheme = 'https';
}

/** Every distinct (host, port) the policy allows, in first-seen order, also grouped by host; and the any-port hosts. */
export function collectDestinations(policy: CompiledPolicy): Destinations {
  const byHost = new Map<string, Destination[]>();
  const list: Destination[] = [];
  const anyPort = new Map<string, AnyPortDestination>();
  // The host decides `wildcard`, so a host's destinations are all exact or all wildcard.
  let byKey: Map<string, Destination> | undefined;
  const keyOf = (host: string, port: number) => `${host}|${port}`;
  for (const rule of policy.rules) {
    const { host, scheme, port } = rule;
    if (port === '*') {
      const existing = anyPort.get(host);
      if (existing) {
        existing.connect ||= allowsConnect(rule);
        mergeScheme(existing, scheme);
      } else anyPort.set(host, { host, wildcard: rule.wildcard, scheme, connect: allowsConnect(rule) });
      continue;
    }
    const group = byHost.get(host);
    let existing: Destination | undefined;
    if (group && group.length <= SCAN_LIMIT) {
      for (const d of group) {
        if (d.port === port) {
          existing = d;
          break;
        }
      }
    } else if (group) existing = byKey?.get(keyOf(host, port));
    if (existing) {
      existing.connect ||= allowsConnect(rule);
      mergeScheme(existing, scheme);
      continue;
    }
    const d: Destination = { host, wildcard: rule.wildcard, scheme, port, connect: allowsConnect(rule) };
    list.push(d);
    if (!group) {
      byHost.set(host, [d]);
      continue;
    }
    group.push(d);
    if (group.length > SCAN_LIMIT) {
      byKey ??= new Map();
      for (const x of group.length === SCAN_LIMIT + 1 ? group : [d]) byKey.set(keyOf(x.host, x.port), x);
    }
  }
  return { list, byHost, anyPort: [...anyPort.values()] };
}

/** Every distinct (host, port) the policy allows, in first-seen order. */
export function destinationsOf(policy: CompiledPolicy): Destination[] {
  return collectDestinations(policy).list;
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
  return (d.httpCluster ??= d.wildcard ? (d.scheme === 'https' ? DFP_TLS_CLUSTER : DFP_PLAIN_CLUSTER) : originCluster(d.scheme, d.host, d.port));
}

/** The cluster that carries CONNECT tunnels to a destination. */
export function tunnelClusterFor(d: Destination): string {
  return (d.tunnelCluster ??= d.wildcard ? DFP_PLAIN_CLUSTER : tunnelCluster(d.host, d.port));
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

/**
 * Visits the routes of one destination host, most specific first: CONNECT per allowed port, then plain HTTP for each
 * port after the first (matching `:authority` ending in `:port`), then the bare host, which goes to the first port.
 */
function forEachRoute(dests: readonly Destination[], visit: (d: Destination, connect: boolean, bare: boolean) => void): void {
  for (const d of dests) if (d.connect) visit(d, true, false);
  for (let i = 1; i < dests.length; i++) visit(dests[i]!, false, false);
  if (dests.length > 0) visit(dests[0]!, false, true);
}

function routeSpecs(dests: readonly Destination[]): RouteSpec[] {
  const routes: RouteSpec[] = [];
  forEachRoute(dests, (d, connect, bare) => {
    routes.push(connect ? { connect, cluster: tunnelClusterFor(d), port: d.port } : { connect, cluster: httpClusterFor(d), port: bare ? undefined : d.port });
  });
  return routes;
}

function routeJson(r: RouteSpec): Json {
  if (r.connect) {
    return { match: { connect_matcher: {}, headers: portIs(r.port as number) }, route: { cluster: r.cluster, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } };
  }
  const match = r.port === undefined ? { prefix: '/' } : { prefix: '/', headers: portIs(r.port) };
  return { match, route: { cluster: r.cluster, timeout: '30s' } };
}

/** An encoded virtual host kept across snapshots, with what it was encoded from. */
export interface EncodedPart {
  /** The encoded `virtual_hosts` field of a RouteConfiguration (tag, length, VirtualHost). */
  readonly bytes: Buffer;
  /** The destinations of the host it was encoded from. */
  readonly source: readonly Destination[] | undefined;
}

/** One virtual host of the route configuration: its JSON or its encoding. */
export interface VirtualHostPlan {
  /** The cache key of its encoding: the host (one virtual host per host). */
  readonly key: string;
  json(): Json;
  /** The encoded virtual host, reusing `cached` (the part last encoded under the same key) when it still applies. */
  encode(cached: EncodedPart | undefined): EncodedPart;
}

/** The virtual host of one destination host, named `name`: `host` and `host:port` per allowed port, its routes. */
export function destinationVirtualHostJson(host: string, dests: readonly Destination[], name: string): Json {
  const domainHost = hostForDomain(host);
  return { name, domains: [domainHost, ...dests.map((d) => `${domainHost}:${d.port}`)], routes: routeSpecs(dests).map(routeJson) };
}

/** Every cluster the routes of one destination host name, in route order (repeats possible). */
export function destinationClusters(dests: readonly Destination[]): string[] {
  return routeSpecs(dests).map((r) => r.cluster);
}

// A class rather than an object literal with closures: a publish makes one per destination host.
export class DestinationVirtualHost implements VirtualHostPlan {
  constructor(
    readonly host: string,
    readonly dests: readonly Destination[],
  ) {}

  get key(): string {
    return this.host;
  }

  json(): Json {
    return destinationVirtualHostJson(this.host, this.dests, `dest|${this.host}`);
  }

  encode(cached: EncodedPart | undefined): EncodedPart {
    // The virtual host is a function of the host and, per destination, scheme, port, CONNECT and wildcard.
    if (cached?.source && sameDestinations(cached.source, this.dests)) return cached;
    return { bytes: encodeVirtualHostField(this.host, this.dests), source: this.dests };
  }
}

export function sameDestinations(a: readonly Destination[], b: readonly Destination[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.host !== y.host || x.scheme !== y.scheme || x.port !== y.port || x.connect !== y.connect || x.wildcard !== y.wildcard) return false;
  }
  return true;
}

const DEFAULT_DENY_ROUTES: Json[] = [
  { match: { connect_matcher: {} }, direct_response: { status: 403, body: DENY_BODY } },
  { match: { prefix: '/' }, direct_response: { status: 403, body: DENY_BODY } },
];

/**
 * When the policy default or any identity runs in report mode, the catch-all forwards through the dynamic
 * forward proxy instead of answering 403: report mode lets would-be denials pass, and an Envoy-level 403
 * would pre-empt it. Default deny then rests on ext_authz alone (fail closed: unreachable Tollgate → 403).
 */
const REPORT_FORWARD_ROUTES: Json[] = [
  { match: { connect_matcher: {} }, route: { cluster: DFP_PLAIN_CLUSTER, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } },
  { match: { prefix: '/' }, route: { cluster: DFP_TLS_CLUSTER, timeout: '30s' } },
];

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `:authority` of a host on any port (or none), case-insensitive as domain matching is. A domain cannot say this for a
 * wildcard host (`*.example.com:*` has a `*` at both ends; config_impl.cc only takes a leading or a trailing one), and
 * the bare host may belong to another virtual host, so any-port routes match the authority in the catch-all.
 */
function anyPortAuthority(d: AnyPortDestination): Json[] {
  const host = d.wildcard ? `[^.:/\\[\\]]+(\\.[^.:/\\[\\]]+)*${escapeRegex(d.host.slice(1))}` : escapeRegex(hostForDomain(d.host));
  return [{ name: ':authority', string_match: { safe_regex: { regex: `(?i)^${host}(:[0-9]{1,5})?$` } } }];
}

/** Any-port hosts go through the forward proxy, which connects to the port in `:authority` (scheme's default without one). */
function anyPortRoutes(dests: readonly AnyPortDestination[]): Json[] {
  const routes: Json[] = [];
  for (const d of dests) {
    if (d.connect) routes.push({ match: { connect_matcher: {}, headers: anyPortAuthority(d) }, route: { cluster: DFP_PLAIN_CLUSTER, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } });
    routes.push({ match: { prefix: '/', headers: anyPortAuthority(d) }, route: { cluster: d.scheme === 'https' ? DFP_TLS_CLUSTER : DFP_PLAIN_CLUSTER, timeout: '30s' } });
  }
  return routes;
}

/** The catch-all virtual host (`*`): any-port routes first, then 403 (or forwarding in report mode). */
export function catchAllVirtualHostJson(anyPort: readonly AnyPortDestination[], report: boolean): Json {
  const name = report ? 'default_forward_report_mode' : 'default_deny';
  return { name, domains: ['*'], routes: [...anyPortRoutes(anyPort), ...(report ? REPORT_FORWARD_ROUTES : DEFAULT_DENY_ROUTES)] };
}

export class CatchAllVirtualHost implements VirtualHostPlan {
  private static readonly encoded = new Map<string, EncodedPart>();
  private readonly vh: Json;
  readonly key: string;

  constructor(anyPort: readonly AnyPortDestination[], report: boolean) {
    this.vh = catchAllVirtualHostJson(anyPort, report);
    this.key = `\u0000${this.vh.name as string}`;
  }

  json(): Json {
    return structuredClone(this.vh);
  }

  encode(): EncodedPart {
    const signature = JSON.stringify(this.vh);
    const known = CatchAllVirtualHost.encoded.get(signature);
    if (known) return known;
    const part: EncodedPart = { bytes: encodeMessageFields(ROUTE_CONFIGURATION, { virtual_hosts: [this.vh] }), source: undefined };
    // Bounded: the two plain catch-alls plus the any-port variants of recent policies.
    if (CatchAllVirtualHost.encoded.size > 64) CatchAllVirtualHost.encoded.clear();
    CatchAllVirtualHost.encoded.set(signature, part);
    return part;
  }
}

export interface RoutePlan {
  virtualHosts: VirtualHostPlan[];
  /** Every cluster a route names, in first-use order. */
  clusters: string[];
  /** Destinations whose tunnel cluster is named, each the first destination of its host and port. */
  tunnels: ReadonlySet<Destination>;
  /** The forward-proxy clusters are named (wildcard destinations). */
  dfpTls: boolean;
  dfpPlain: boolean;
}

/**
 * One virtual host per destination host (`host`, `host:port` for each allowed port); requests for any
 * other host meet the catch-all 403, so default deny holds in Envoy even when Tollgate is unreachable.
 * Fine-grained checks (identity, method, path) stay in ext_authz; routing only decides where allowed
 * traffic can go at all. A request without a port goes to the first port the policy names.
 */
export function routePlan(destinations: readonly Destination[] | Destinations, opts: { reportCatchAll?: boolean } = {}): RoutePlan {
  let byHost: ReadonlyMap<string, readonly Destination[]>;
  const anyPort = 'byHost' in destinations ? destinations.anyPort : [];
  if ('byHost' in destinations) byHost = destinations.byHost;
  else {
    const grouped = new Map<string, Destination[]>();
    for (const d of destinations) {
      const list = grouped.get(d.host);
      if (list) list.push(d);
      else grouped.set(d.host, [d]);
    }
    byHost = grouped;
  }
  // Every cluster a route names, once, in first-use order. Names spell the host, so they repeat only within a host
  // (a tunnel per port, whatever the scheme), except the forward-proxy clusters wildcard hosts share.
  const clusters: string[] = [];
  const tunnels: Destination[] = [];
  let dfpTls = false;
  let dfpPlain = false;
  const virtualHosts: VirtualHostPlan[] = [];
  for (const [host, dests] of byHost) {
    const wildcard = dests[0]!.wildcard;
    if (wildcard) {
      // Tunnels to a wildcard host go through the plain forward proxy.
      if (!dfpPlain && dests.some((d) => d.connect)) {
        clusters.push(DFP_PLAIN_CLUSTER);
        dfpPlain = true;
      }
    } else if (dests.length === 1) {
      const d = dests[0]!;
      if (d.connect) {
        clusters.push(tunnelClusterFor(d));
        tunnels.push(d);
      }
    } else {
      // One tunnel per port some destination allows CONNECT to, planned with the first destination on that port.
      const firstOnPort = new Map<number, Destination>();
      for (const d of dests) if (!firstOnPort.has(d.port)) firstOnPort.set(d.port, d);
      const tunnelled = new Set<number>();
      for (const d of dests) {
        if (!d.connect || tunnelled.has(d.port)) continue;
        tunnelled.add(d.port);
        clusters.push(tunnelClusterFor(d));
        tunnels.push(firstOnPort.get(d.port)!);
      }
    }
    for (const d of dests) {
      if (!wildcard) clusters.push(httpClusterFor(d));
      else if (d.scheme === 'https') {
        if (!dfpTls) clusters.push(DFP_TLS_CLUSTER);
        dfpTls = true;
      } else {
        if (!dfpPlain) clusters.push(DFP_PLAIN_CLUSTER);
        dfpPlain = true;
      }
    }
    virtualHosts.push(new DestinationVirtualHost(host, dests));
  }
  for (const d of anyPort) {
    if (d.connect && !dfpPlain) {
      clusters.push(DFP_PLAIN_CLUSTER);
      dfpPlain = true;
    }
    if (d.scheme === 'https' && !dfpTls) {
      clusters.push(DFP_TLS_CLUSTER);
      dfpTls = true;
    } else if (d.scheme === 'http' && !dfpPlain) {
      clusters.push(DFP_PLAIN_CLUSTER);
      dfpPlain = true;
    }
  }
  if (opts.reportCatchAll) {
    if (!dfpPlain) clusters.push(DFP_PLAIN_CLUSTER);
    if (!dfpTls) clusters.push(DFP_TLS_CLUSTER);
    dfpPlain = dfpTls = true;
  }
  virtualHosts.push(new CatchAllVirtualHost(anyPort, opts.reportCatchAll === true));
  return { virtualHosts, clusters, tunnels: new Set(tunnels), dfpTls, dfpPlain };
}

/** The RouteConfiguration JSON of a plan. */
export function routeConfigurationJson(plan: RoutePlan): Json {
  return { name: EGRESS_ROUTES, virtual_hosts: plan.virtualHosts.map((v) => v.json()), request_headers_to_remove: [...TOLLGATE_HEADERS] };
}

/** Encoded RouteConfiguration fields before and after `virtual_hosts` (name = 1, request_headers_to_remove = 8). */
let shell: { head: Buffer; tail: Buffer } | undefined;

/** A cache of encoded virtual hosts by key, kept by the caller across snapshots. */
export interface PartCache {
  get(key: string): EncodedPart | undefined;
  set(key: string, part: EncodedPart): void;
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
    const key = vh.key;
    const part = vh.encode(parts?.get(key));
    parts?.set(key, part);
    chunks.push(part.bytes);
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
const hostBytes = new Utf8();

/** Encoded once: pieces that are the same in every destination virtual host. */
function constantBytes(write: (w: ProtoWriter) => void): Buffer {
  const w = new ProtoWriter(64);
  write(w);
  return w.finish();
}

const DEST_PREFIX = Buffer.from('dest|');
const PREFIX_SLASH = constantBytes((w) => w.string(1, '/')); // RouteMatch.prefix (oneof path_specifier)
const CONNECT_MATCHER = constantBytes((w) => w.empty(12)); // RouteMatch.connect_matcher (oneof path_specifier)
const UPGRADE_CONNECT = constantBytes((w) => {
  const upgrade = w.begin(25); // RouteAction.upgrade_configs[0]
  w.string(1, 'CONNECT'); // upgrade_type
  w.empty(3); // connect_config
  w.end(upgrade);
});
const TIMEOUT_30S = constantBytes((w) => {
  const timeout = w.begin(8); // RouteAction.timeout: Duration (seconds, and nanos 0, which protobufjs writes)
  w.uint32(1, 30).uint32(2, 0);
  w.end(timeout);
});
const authorityPorts = new Map<number, Buffer>();

/** RouteMatch.headers[0] (6): `:authority` with suffix `:port`, encoded once per port. */
function authorityPort(port: number): Buffer {
  let bytes = authorityPorts.get(port);
  if (!bytes) {
    bytes = constantBytes((w) => {
      const header = w.begin(6);
      w.string(1, ':authority'); // HeaderMatcher.name
      const match = w.begin(13); // string_match (oneof header_match_specifier)
      w.string(3, `:${port}`); // suffix (oneof match_pattern)
      w.end(match).end(header);
    });
    authorityPorts.set(port, bytes);
  }
  return bytes;
}

function writeRoute(w: ProtoWriter, d: Destination, connect: boolean, bare: boolean): void {
  const route = w.begin(3); // VirtualHost.routes[]
  const match = w.begin(1); // Route.match
  if (connect) w.raw(authorityPort(d.port)).raw(CONNECT_MATCHER);
  else {
    w.raw(PREFIX_SLASH);
    if (!bare) w.raw(authorityPort(d.port));
  }
  w.end(match);
  const action = w.begin(2); // Route.route (oneof action): RouteAction
  w.string(1, connect ? tunnelClusterFor(d) : httpClusterFor(d)); // cluster (oneof cluster_specifier)
  w.raw(connect ? UPGRADE_CONNECT : TIMEOUT_30S);
  w.end(action).end(route);
}

/** The domain for a host (hostForDomain): IPv6 literals in brackets. */
function writeDomain(w: ProtoWriter, ipv6: boolean): void {
  if (ipv6) w.char(0x5b); // [
  w.utf8(hostBytes);
  if (ipv6) w.char(0x5d); // ]
}

/** The `virtual_hosts` field for one destination host: what encoding DestinationVirtualHost#json() gives. */
function encodeVirtualHostField(host: string, dests: readonly Destination[]): Buffer {
  return encodeDestinationVirtualHost(host, dests, DEST_PREFIX, true);
}

/**
 * One destination host's virtual host named `namePrefix` + host: as the `virtual_hosts` field of a RouteConfiguration
 * (`asField`), or as a VirtualHost message of its own (a VHDS resource). What encoding destinationVirtualHostJson gives.
 */
export function encodeDestinationVirtualHost(host: string, dests: readonly Destination[], namePrefix: Buffer, asField: boolean): Buffer {
  hostBytes.set(host);
  const ipv6 = host.includes(':');
  const w = writer.reset();
  const vh = asField ? w.begin(2) : -1; // RouteConfiguration.virtual_hosts[]
  const name = w.begin(1); // VirtualHost.name: prefix + host
  w.raw(namePrefix).utf8(hostBytes);
  w.end(name);
  const bare = w.begin(2); // domains[]: hostForDomain(host)
  writeDomain(w, ipv6);
  w.end(bare);
  for (const d of dests) {
    const domain = w.begin(2); // domains[]: `${hostForDomain(host)}:${port}`
    writeDomain(w, ipv6);
    w.char(0x3a).decimal(d.port); // :port
    w.end(domain);
  }
  forEachRoute(dests, (d, connect, bare) => writeRoute(w, d, connect, bare)); // routes[]
  if (asField) w.end(vh);
  return w.finish();
}
