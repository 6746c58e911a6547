import type { ResourceJson } from '../resources/build.js';

/**
 * Who enforces a rule, and how it shows:
 * - `envoy-rejects`: Envoy refuses the resource at config-load time (NACK over xDS) with `message`.
 * - `envoy-runtime`: Envoy accepts the resource but misbehaves at request time (503/404, dropped config, no check).
 * - `tollgate`: Tollgate's own rule; Envoy accepts it, but the result is not what Tollgate means to push.
 */
export type SemanticOrigin = 'envoy-rejects' | 'envoy-runtime' | 'tollgate';

/** The Envoy source that decides the rule's outcome: file in envoyproxy/envoy and the function. */
export interface EnvoySource {
  file: string;
  fn: string;
}

/** One way a snapshot breaks a rule Envoy (or Tollgate) enforces beyond the protos. */
export interface SemanticProblem {
  /** Stable id of the rule, e.g. `route.unique-domains`. */
  rule: string;
  origin: SemanticOrigin;
  /** The resource, by short type (`Cluster`, `RouteConfiguration`, `Listener`, `Secret`) and name. */
  resource: { type: string; name: string };
  /** Where inside the resource, e.g. `virtual_hosts[2].domains[1]`. */
  path: string;
  /** Envoy's own error text for `envoy-rejects` (and for `envoy-runtime` where Envoy has one); Tollgate's otherwise. */
  message: string;
  /** What happens, in Tollgate's words, when `message` alone does not say it. */
  note?: string;
  source: EnvoySource;
}

export type Json = Record<string, unknown>;

/** The resources of one snapshot by type and name (first of each name), for cross-resource rules. */
export interface SnapshotIndex {
  clusters: Map<string, Json>;
  routes: Map<string, Json>;
  secrets: Map<string, Json>;
  listeners: Map<string, Json>;
  /** VHDS VirtualHost resources by resource name. */
  virtualHosts: Map<string, Json>;
}

const SHORT_TYPES: Record<string, string> = {
  'envoy.config.cluster.v3.Cluster': 'Cluster',
  'envoy.config.route.v3.RouteConfiguration': 'RouteConfiguration',
  'envoy.config.listener.v3.Listener': 'Listener',
  'envoy.extensions.transport_sockets.tls.v3.Secret': 'Secret',
  'envoy.config.endpoint.v3.ClusterLoadAssignment': 'ClusterLoadAssignment',
  'envoy.config.route.v3.VirtualHost': 'VirtualHost',
};

/** `Cluster` for `envoy.config.cluster.v3.Cluster`; unknown types keep their full name. */
export function shortType(res: Pick<ResourceJson, 'typeName'>): string {
  return SHORT_TYPES[res.typeName] ?? res.typeName;
}

export function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The `@type` of an Any in proto-JSON, without the `type.googleapis.com/` prefix. */
export function anyType(value: unknown): string | undefined {
  const t = str(obj(value)?.['@type']);
  return t === undefined ? undefined : t.slice(t.lastIndexOf('/') + 1);
}

/** A google.protobuf.BoolValue in proto-JSON: `true` or `{ value: true }`. */
export function boolValue(value: unknown): boolean {
  return value === true || obj(value)?.value === true;
}

/** Deep equality of two proto-JSON values (key order ignored), what MessageDifferencer::Equivalent decides here. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x, b[i]));
  }
  const x = obj(a);
  const y = obj(b);
  if (!x || !y) return false;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const k of keys) if (!sameJson(x[k], y[k])) return false;
  return true;
}

export const CLUSTER_TYPE = 'envoy.config.cluster.v3.Cluster';
export const ROUTE_TYPE = 'envoy.config.route.v3.RouteConfiguration';
export const LISTENER_TYPE = 'envoy.config.listener.v3.Listener';
export const SECRET_TYPE = 'envoy.extensions.transport_sockets.tls.v3.Secret';
export const VIRTUAL_HOST_TYPE = 'envoy.config.route.v3.VirtualHost';

export const DFP_CLUSTER_TYPE = 'envoy.clusters.dynamic_forward_proxy';

/** The `dns_cache_config` of a dynamic forward proxy cluster, or undefined when the cluster is not one. */
export function dfpClusterCache(cluster: Json): Json | undefined {
  const type = obj(cluster.cluster_type);
  if (!type || (type.name !== DFP_CLUSTER_TYPE && anyType(type.typed_config) !== 'envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig')) return undefined;
  return obj(obj(type.typed_config)?.dns_cache_config) ?? {};
}
