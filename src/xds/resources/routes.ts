import type { CompiledPolicy, CompiledRule } from '../../policy/compile.js';
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

/**
 * One virtual host per destination host (`host`, `host:port` for each allowed port); requests for any
 * other host meet the catch-all 403, so default deny holds in Envoy even when Tollgate is unreachable.
 * Fine-grained checks (identity, method, path) stay in ext_authz; routing only decides where allowed
 * traffic can go at all. A request without a port goes to the first port the policy names.
 */
export function routeConfiguration(destinations: readonly Destination[]): { json: Json; clusters: string[] } {
  const byHost = new Map<string, Destination[]>();
  for (const d of destinations) byHost.set(d.host, [...(byHost.get(d.host) ?? []), d]);
  const clusters = new Set<string>();
  const virtualHosts: Json[] = [];
  for (const [host, dests] of byHost) {
    const domainHost = hostForDomain(host);
    const routes: Json[] = [];
    for (const d of dests) {
      if (!d.connect) continue;
      clusters.add(tunnelClusterFor(d));
      routes.push({ match: { connect_matcher: {}, headers: portIs(d.port) }, route: { cluster: tunnelClusterFor(d), upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } });
    }
    dests.forEach((d, i) => {
      clusters.add(httpClusterFor(d));
      const match = i === 0 ? { prefix: '/' } : { prefix: '/', headers: portIs(d.port) };
      routes.push({ match, route: { cluster: httpClusterFor(d), timeout: '30s' } });
    });
    // Most specific first: the bare-host route (index 0) must come after the port-specific ones.
    const first = routes.findIndex((r) => (r.match as Json).prefix === '/' && !(r.match as Json).headers);
    if (first !== -1) routes.push(...routes.splice(first, 1));
    virtualHosts.push({ name: `dest|${host}`, domains: [domainHost, ...dests.map((d) => `${domainHost}:${d.port}`)], routes });
  }
  virtualHosts.push({
    name: 'default_deny',
    domains: ['*'],
    routes: [
      { match: { connect_matcher: {} }, direct_response: { status: 403, body: DENY_BODY } },
      { match: { prefix: '/' }, direct_response: { status: 403, body: DENY_BODY } },
    ],
  });
  return {
    json: { name: EGRESS_ROUTES, virtual_hosts: virtualHosts, request_headers_to_remove: TOLLGATE_HEADERS },
    clusters: [...clusters],
  };
}
