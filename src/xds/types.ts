import { hash } from 'node:crypto';

/** The xDS resource types Tollgate serves over ADS. */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  /** VHDS: virtual hosts of a RouteConfiguration that has `vhds`, over delta ADS only (see resources/vhds.ts). */
  virtualHost: 'type.googleapis.com/envoy.config.route.v3.VirtualHost',
} as const;

export type KnownTypeUrl = (typeof TYPE_URL)[keyof typeof TYPE_URL];

/**
 * Make-before-break order over ADS: secrets and clusters exist before the endpoints that fill them, clusters before
 * the listeners and routes that name them. Types not listed here follow in name order.
 */
export const PUSH_ORDER: readonly string[] = [TYPE_URL.secret, TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route, TYPE_URL.virtualHost];

/**
 * Types whose subscribed names are namespaces: Envoy's VHDS subscribes to the route configuration's name with
 * namespace matching, and takes every resource named `<that name>/<anything>` (watch_map.cc
 * WatchMap::watchesInterestedIn with use_namespace_matching_, namespaceFromName: up to the last `/`).
 */
export const NAMESPACED_TYPES: ReadonlySet<string> = new Set([TYPE_URL.virtualHost]);

/** The namespace of a resource name as Envoy's watch map reads it: everything before the last `/`, else ''. */
export function namespaceOf(name: string): string {
  const at = name.lastIndexOf('/');
  return at === -1 ? '' : name.slice(0, at);
}

/** Types whose empty SotW subscription means "everything" (Envoy always subscribes to LDS and CDS this way). */
export const LEGACY_WILDCARD_TYPES: ReadonlySet<string> = new Set([TYPE_URL.listener, TYPE_URL.cluster]);

/** Names of other resources a resource needs before the client can use it; what the consistency check follows. */
export interface ResourceRefs {
  clusters?: readonly string[];
  routes?: readonly string[];
  endpoints?: readonly string[];
  secrets?: readonly string[];
}

/** One already-encoded xDS resource, as the builders hand it to the cache. */
export interface Resource {
  readonly name: string;
  readonly typeUrl: string;
  /** The encoded message (e.g. an envoy.config.cluster.v3.Cluster), sent as `Any.value`. */
  readonly body: Buffer;
  /** SHA-256 of body, hex prefix: the delta resource version and what change detection compares. */
  readonly version: string;
  readonly refs?: ResourceRefs;
}

const VERSION_HEX_CHARS = 16;

/** The version of an encoded resource body: a SHA-256 hex prefix, stable across processes. */
export function bodyVersion(body: Uint8Array): string {
  return hash('sha256', body, 'hex').slice(0, VERSION_HEX_CHARS);
}

/** Wraps an encoded body as a Resource, computing its version. */
export function makeResource(typeUrl: string, name: string, body: Uint8Array, refs?: ResourceRefs): Resource {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const resource: { -readonly [K in keyof Resource]: Resource[K] } = { name, typeUrl, body: buf, version: bodyVersion(buf) };
  if (refs) resource.refs = refs;
  return resource;
}

/** Compares type URLs in PUSH_ORDER, unknown types last by name. */
export function comparePushOrder(a: string, b: string): number {
  const ia = PUSH_ORDER.indexOf(a);
  const ib = PUSH_ORDER.indexOf(b);
  const ra = ia === -1 ? PUSH_ORDER.length : ia;
  const rb = ib === -1 ? PUSH_ORDER.length : ib;
  return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
}
