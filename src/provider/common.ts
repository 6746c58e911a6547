import { stringify } from 'yaml';
import { splitHostPort } from '../config/config.js';
import { isIP } from 'node:net';
import type { CompiledPolicy } from '../policy/compile.js';

export type Manifest = Record<string, unknown>;

/** What `tollgate provider` needs to know about the cluster around the gateway. */
export interface ProviderOptions {
  /** Tollgate's gRPC Service as the gateway reaches it, `host:port` (the deploy/ base: tollgate.tollgate-system.svc.cluster.local:7070). */
  service: string;
  /** Namespace of the gateway objects (Istio: the egress gateway's namespace; Envoy Gateway: the Gateway's). */
  namespace: string;
  /** Tollgate's gRPC port serves TLS and requires a client certificate (deploy/components/grpc-tls). */
  tls: boolean;
}

export const TOLLGATE_SERVICE_DEFAULT = 'tollgate.tollgate-system.svc.cluster.local:7070';

/** Tollgate's own defaults for the filters it pushes (src/xds/resources/options.ts, listener.ts). */
export const EXT_AUTHZ_TIMEOUT_MS = 250;
export const EXT_PROC_MESSAGE_TIMEOUT_MS = 200;
export const EXT_PROC_GRPC_TIMEOUT_MS = 500;

/** Connection facts ext_proc reads when another gateway's ext_authz decided (src/extproc/metadata.ts `peerFromAttributes`). */
export const EXT_PROC_REQUEST_ATTRIBUTES = ['connection.uri_san_peer_certificate', 'source.address'];

/** One destination a gateway must be able to reach: exact host, the port and whether the gateway originates TLS. */
export interface Destination {
  host: string;
  port: number;
  tls: boolean;
  /** A short DNS-label-safe name for the objects of this destination. */
  slug: string;
}

export interface Destinations {
  list: Destination[];
  /** Rules a static manifest cannot express (wildcard hosts, any port), for the printed notes. */
  skipped: string[];
}

/**
 * Exact destinations of the policy, one per host: https wins over http for the same host, as in Tollgate's own
 * route configuration (the port speaks TLS, never a downgrade); the first rule's port otherwise.
 */
export function policyDestinations(policy: CompiledPolicy): Destinations {
  const byHost = new Map<string, { port: number; tls: boolean }>();
  const skipped: string[] = [];
  for (const rule of policy.rules) {
    if (rule.wildcard) {
      skipped.push(`${rule.id}: wildcard host ${rule.host} (a ServiceEntry/HTTPRoute needs exact hosts; add them, or use Tollgate's own gateway)`);
      continue;
    }
    if (rule.port === '*') {
      skipped.push(`${rule.id}: any port on ${rule.host} (declare the ports you use as separate rules)`);
      continue;
    }
    if (isIP(rule.host) !== 0) {
      skipped.push(`${rule.id}: IP literal ${rule.host} (no DNS name to originate TLS to)`);
      continue;
    }
    const tls = rule.scheme === 'https';
    const seen = byHost.get(rule.host);
    if (!seen || (tls && !seen.tls)) byHost.set(rule.host, { port: rule.port, tls });
  }
  const list = [...byHost.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, d]) => ({ host, ...d, slug: slugFor(host) }));
  return { list, skipped };
}

/** `api.stripe.com` → `api-stripe-com`, cut to fit a Kubernetes name with a prefix. */
export function slugFor(host: string): string {
  const slug = host.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return slug.length <= 40 ? slug : slug.slice(0, 40).replace(/-+$/, '');
}

export function serviceHostPort(service: string): { host: string; port: number } {
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(service)) throw new Error(`--service must be host:port, e.g. ${TOLLGATE_SERVICE_DEFAULT} (got "${service}")`);
  return splitHostPort(service);
}

export function millis(ms: number): string {
  return `${ms}ms`;
}

/** A multi-document YAML stream; the header lines become comments above the first document. */
export function renderYaml(documents: readonly Manifest[], header: readonly string[]): string {
  const comments = header.map((line) => (line === '' ? '#' : `# ${line}`)).join('\n');
  const body = documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  return `${comments}${comments ? '\n' : ''}${body}`;
}
