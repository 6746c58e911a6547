import { lookupMessageType } from '../../src/proto/envoy-config.js';
import { TYPE_URL } from '../../src/xds/types.js';

const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

interface AnyObject {
  type_url?: string;
  value?: Uint8Array;
}

function decode(typeName: string, body: Uint8Array): Record<string, unknown> {
  const type = lookupMessageType(typeName);
  if (!type) throw new Error(`unknown proto type ${typeName}`);
  return type.toObject(type.decode(body), { enums: String, defaults: false, oneofs: true }) as Record<string, unknown>;
}

/** The ClusterLoadAssignment an EDS cluster needs, as Envoy derives it (service_name, else the cluster name). */
export function edsNameOf(clusterBody: Uint8Array): string | undefined {
  const c = decode('envoy.config.cluster.v3.Cluster', clusterBody) as {
    name?: string;
    type?: string;
    eds_cluster_config?: { service_name?: string };
  };
  if (c.type !== 'EDS') return undefined;
  return c.eds_cluster_config?.service_name || c.name;
}

function rdsNameOfHcm(any: AnyObject | undefined): string | undefined {
  if (any?.type_url !== HCM_URL || !any.value) return undefined;
  const hcm = decode('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', any.value) as {
    rds?: { route_config_name?: string };
  };
  return hcm.rds?.route_config_name;
}

/** The RouteConfiguration names a listener asks for over RDS (api_listener or HCM filters in its chains). */
export function rdsNamesOf(listenerBody: Uint8Array): string[] {
  const l = decode('envoy.config.listener.v3.Listener', listenerBody) as {
    api_listener?: { api_listener?: AnyObject };
    filter_chains?: Array<{ filters?: Array<{ typed_config?: AnyObject }> }>;
  };
  const names = new Set<string>();
  const direct = rdsNameOfHcm(l.api_listener?.api_listener);
  if (direct) names.add(direct);
  for (const chain of l.filter_chains ?? []) {
    for (const filter of chain.filters ?? []) {
      const name = rdsNameOfHcm(filter.typed_config);
      if (name) names.add(name);
    }
  }
  return [...names];
}

/**
 * The VHDS subscription a route configuration starts: its own name, as a namespace, when it has `vhds`
 * (rds_impl.cc RdsRouteConfigSubscription::beforeProviderUpdate; vhds.cc VhdsSubscription: `start({name})` with
 * use_namespace_matching_).
 */
export function vhdsNamespaceOf(routeBody: Uint8Array): string | undefined {
  const rc = decode('envoy.config.route.v3.RouteConfiguration', routeBody) as { name?: string; vhds?: unknown };
  return rc.vhds ? (rc.name ?? '') : undefined;
}

/** Names of the dependent type a held resource set needs: EDS names from clusters, RDS names from listeners, VHDS namespaces from route configurations. */
export function dependentNames(typeUrl: string, bodies: Iterable<Uint8Array>): string[] {
  const names = new Set<string>();
  for (const body of bodies) {
    if (typeUrl === TYPE_URL.cluster) {
      const n = edsNameOf(body);
      if (n) names.add(n);
    } else if (typeUrl === TYPE_URL.listener) {
      for (const n of rdsNamesOf(body)) names.add(n);
    } else if (typeUrl === TYPE_URL.route) {
      const n = vhdsNamespaceOf(body);
      if (n !== undefined) names.add(n);
    }
  }
  return [...names].sort();
}

const NAME_FIELD: Record<string, [string, string]> = {
  [TYPE_URL.listener]: ['envoy.config.listener.v3.Listener', 'name'],
  [TYPE_URL.route]: ['envoy.config.route.v3.RouteConfiguration', 'name'],
  [TYPE_URL.cluster]: ['envoy.config.cluster.v3.Cluster', 'name'],
  [TYPE_URL.endpoint]: ['envoy.config.endpoint.v3.ClusterLoadAssignment', 'cluster_name'],
  [TYPE_URL.secret]: ['envoy.extensions.transport_sockets.tls.v3.Secret', 'name'],
  [TYPE_URL.virtualHost]: ['envoy.config.route.v3.VirtualHost', 'name'],
};

/** The name of a resource inside a SotW response, read from the message as Envoy does. */
export function resourceNameOf(typeUrl: string, body: Uint8Array): string {
  const field = NAME_FIELD[typeUrl];
  if (!field) throw new Error(`no name field known for ${typeUrl}`);
  const value = decode(field[0], body)[field[1]];
  return typeof value === 'string' ? value : '';
}
