import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLUSTER = 'envoy.config.cluster.v3.Cluster';
export const LISTENER = 'envoy.config.listener.v3.Listener';
export const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export function readFixture(name: string): string {
  return readFileSync(fixture(name), 'utf8');
}

/** A small valid STRICT_DNS cluster, the shape Tollgate emits per destination. */
export function smallCluster(name = 'api.stripe.com:443', port = 443): Record<string, unknown> {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: name.split(':')[0], port_value: port } } } }] }],
    },
  };
}

export function paths(problems: readonly { path: string }[]): string[] {
  return problems.map((p) => p.path);
}
