import type { Problem } from '../../policy/problems.js';
import type { ResourceJson } from '../resources/build.js';
import { checkCluster, DnsCaches } from './clusters.js';
import { checkListener } from './listener.js';
import { checkVhdsRouteConfiguration, checkVirtualHostResource } from './vhds.js';
import { CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE, VIRTUAL_HOST_TYPE, shortType, type EnvoySource, type SemanticProblem, type SnapshotIndex } from './problem.js';
import { checkRouteConfiguration } from './routes.js';

export type { SemanticOrigin, SemanticProblem, EnvoySource } from './problem.js';

/** Duplicate names in one response: Envoy's own message where it has one (CDS, LDS). */
const DUPLICATE: Record<string, { message: (name: string) => string; source: EnvoySource; origin: SemanticProblem['origin'] }> = {
  [CLUSTER_TYPE]: { message: (n) => `duplicate cluster ${n} found`, origin: 'envoy-rejects', source: { file: 'source/common/upstream/cds_api_helper.cc', fn: 'CdsApiHelper::onConfigUpdate' } },
  [LISTENER_TYPE]: { message: (n) => `duplicate listener ${n} found`, origin: 'envoy-rejects', source: { file: 'source/common/listener_manager/lds_api.cc', fn: 'LdsApiImpl::onConfigUpdate' } },
};

/**
 * The rules Envoy enforces when it loads a snapshot (and a few Tollgate adds), beyond what the protos say: pure, no
 * I/O, every problem found rather than the first. Clusters are checked before listeners, the order in which Envoy
 * creates them, so a shared DNS cache is reported where Envoy would reject it.
 */
export function checkEnvoySemantics(resources: readonly ResourceJson[]): SemanticProblem[] {
  const index: SnapshotIndex = { clusters: new Map(), routes: new Map(), secrets: new Map(), listeners: new Map(), virtualHosts: new Map() };
  const byType: Record<string, Map<string, unknown>> = { [CLUSTER_TYPE]: index.clusters, [ROUTE_TYPE]: index.routes, [SECRET_TYPE]: index.secrets, [LISTENER_TYPE]: index.listeners, [VIRTUAL_HOST_TYPE]: index.virtualHosts };
  const problems: SemanticProblem[] = [];
  const firsts = new Set<ResourceJson>();
  for (const res of resources) {
    const names = byType[res.typeName];
    if (!names) continue;
    if (!names.has(res.name)) {
      names.set(res.name, res.json);
      firsts.add(res);
      continue;
    }
    const dup = DUPLICATE[res.typeName];
    problems.push({
      rule: 'resource.unique-names',
      origin: dup?.origin ?? 'tollgate',
      resource: { type: shortType(res), name: res.name },
      path: 'name',
      message: dup?.message(res.name) ?? `two ${shortType(res)} resources are named ${res.name}`,
      note: dup ? undefined : 'Envoy subscribes to this type by name and cannot tell the two apart',
      source: dup?.source ?? { file: 'source/common/config/grpc_mux_impl.cc', fn: 'GrpcMuxImpl::onDiscoveryResponse' },
    });
  }
  const caches = new DnsCaches();
  const ordered = [...resources].filter((r) => firsts.has(r)).sort((a, b) => rank(a) - rank(b));
  for (const res of ordered) {
    const at = `${shortType(res)}[${res.name}]`;
    if (res.typeName === CLUSTER_TYPE) problems.push(...checkCluster(res.name, res.json, at, index, caches));
    else if (res.typeName === ROUTE_TYPE) problems.push(...(res.json.vhds ? checkVhdsRouteConfiguration(res.name, res.json, index) : checkRouteConfiguration(res.name, res.json, index)));
    else if (res.typeName === VIRTUAL_HOST_TYPE) problems.push(...checkVirtualHostResource(res.name, res.json, index));
    else if (res.typeName === LISTENER_TYPE) problems.push(...checkListener(res.name, res.json, at, index, caches));
  }
  return problems;
}

/** Make-before-break order: what Envoy creates first (CDS, then LDS, then RDS). */
function rank(res: ResourceJson): number {
  return res.typeName === CLUSTER_TYPE ? 0 : res.typeName === LISTENER_TYPE ? 1 : res.typeName === ROUTE_TYPE ? 2 : 3;
}

const ORIGIN_LABEL: Record<SemanticProblem['origin'], string> = {
  'envoy-rejects': 'Envoy rejects this',
  'envoy-runtime': 'Envoy accepts this',
  tollgate: 'Tollgate rule',
};

/**
 * A semantic problem as `path: message`, the way `tollgate validate` prints policy problems: the path names the
 * resource (`xds.RouteConfiguration[egress_http].virtual_hosts[0].domains[2]`), the message carries Envoy's text,
 * what it means, and the Envoy source that decides it.
 */
export function semanticProblemToProblem(p: SemanticProblem): Problem {
  const what = p.note ? `${ORIGIN_LABEL[p.origin]}: ${p.note}` : ORIGIN_LABEL[p.origin];
  return {
    path: `xds.${p.resource.type}[${p.resource.name}]${p.path === '' ? '' : `.${p.path}`}`,
    message: `${p.message} (${what}; ${p.source.file} ${p.source.fn})`,
  };
}
