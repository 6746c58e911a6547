import { checkRouteConfiguration } from './routes.js';
import { list, obj, str, type Json, type SemanticProblem, type SnapshotIndex } from './problem.js';

const VHDS_CC = 'source/common/router/vhds.cc';

/** The namespace Envoy's watch map reads from a resource name: up to the last `/` (watch_map.cc namespaceFromName). */
function namespaceFromName(name: string): string {
  const at = name.lastIndexOf('/');
  return at === -1 ? '' : name.slice(0, at);
}

/**
 * A RouteConfiguration with `vhds`, checked as Envoy uses it: the config source (delta only), then the route table
 * Envoy builds from its virtual hosts and the VHDS virtual hosts in its namespace
 * (route_config_update_receiver_impl.cc RouteConfigUpdateReceiverImpl::rebuildRouteConfig, then ConfigImpl), so
 * domains, names and clusters are checked across both. Paths past the RDS virtual hosts name the VirtualHost.
 */
export function checkVhdsRouteConfiguration(name: string, rc: Json, index: SnapshotIndex): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const source = obj(obj(rc.vhds)?.config_source) ?? {};
  const api = obj(source.api_config_source);
  if (source.ads === undefined && str(api?.api_type) !== 'DELTA_GRPC') {
    problems.push({
      rule: 'vhds.delta-config-source',
      origin: 'envoy-rejects',
      resource: { type: 'RouteConfiguration', name },
      path: 'vhds.config_source',
      message: "vhds: only 'DELTA_GRPC' or 'ADS' (which uses Delta xDS) is supported as a config source.",
      source: { file: VHDS_CC, fn: 'VhdsSubscription::createVhdsSubscription' },
    });
  }
  const own = list(rc.virtual_hosts);
  const vhds = [...index.virtualHosts].filter(([resourceName]) => namespaceFromName(resourceName) === name);
  // A std::map keyed by VirtualHost name (updateVhosts): the last of a name wins, the table is in name order.
  const byName = new Map<string, [string, Json]>();
  for (const [resourceName, vh] of vhds) byName.set(str(vh.name) ?? '', [resourceName, vh]);
  const ordered = [...byName.keys()].sort().map((n) => byName.get(n)!);
  const merged = { ...rc, virtual_hosts: [...own, ...ordered.map(([, vh]) => vh)] };
  for (const p of checkRouteConfiguration(name, merged, index)) {
    const m = /^virtual_hosts\[(\d+)\](.*)$/.exec(p.path);
    const i = m ? Number(m[1]) : -1;
    if (i >= own.length) {
      const [resourceName] = ordered[i - own.length]!;
      const rest = m![2]!.replace(/^\./, '');
      problems.push({ ...p, resource: { type: 'VirtualHost', name: resourceName }, path: rest, note: `${p.note ? `${p.note}; ` : ''}checked in the route table Envoy builds from ${name} and its VHDS virtual hosts` });
    } else problems.push(p);
  }
  return problems;
}

/** A VirtualHost resource on its own: it must reach a VHDS route configuration and be removable by its name. */
export function checkVirtualHostResource(resourceName: string, vh: Json, index: SnapshotIndex): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const resource = { type: 'VirtualHost', name: resourceName };
  const ns = namespaceFromName(resourceName);
  const rc = index.routes.get(ns);
  if (!obj(rc)?.vhds) {
    problems.push({
      rule: 'vhds.namespace',
      origin: 'envoy-runtime',
      resource,
      path: '',
      message: `virtual host resource ${resourceName} is in namespace "${ns}", which is no route configuration with vhds`,
      note: 'Envoy hands a VirtualHost only to the VHDS subscription of the route configuration named by everything before the last "/"; this one reaches no watch and is ignored',
      source: { file: 'source/extensions/config_subscription/grpc/watch_map.cc', fn: 'WatchMap::watchesInterestedIn' },
    });
  }
  if ((str(vh.name) ?? '') !== resourceName) {
    problems.push({
      rule: 'vhds.name-is-resource-name',
      origin: 'envoy-runtime',
      resource,
      path: 'name',
      message: `virtual host name "${str(vh.name) ?? ''}" differs from its resource name ${resourceName}`,
      note: 'Envoy keys VHDS virtual hosts by VirtualHost.name but removes them by resource name, so removing this resource would leave the virtual host routing',
      source: { file: 'source/common/router/route_config_update_receiver_impl.cc', fn: 'RouteConfigUpdateReceiverImpl::removeVhosts' },
    });
  }
  return problems;
}
