import type * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryRequest } from '../../proto/gen/envoy/service/discovery/v3/discovery.js';
import type { Snapshot } from '../cache/snapshot.js';
import type { Node } from '../../proto/gen/envoy/config/core/v3/base.js';
import { LEGACY_WILDCARD_TYPES, NAMESPACED_TYPES, TYPE_URL, namespaceOf, type Resource } from '../types.js';
import { deltaResponseBytes, estimateBytes, type EncodedResponse } from './encode.js';
import { KnownVersions } from './known.js';
import { AdsStream, type AdsDeps, type PushPass, type TypeStateBase } from './stream.js';

interface DeltaTypeState extends TypeStateBase {
  /** Subscribed with an empty first request (Envoy's LDS/CDS), until the client names resources. */
  legacyWildcard: boolean;
  /** Subscribed to "*". */
  explicitWildcard: boolean;
  names: Set<string>;
  /** What the client holds, by name: what we sent (ACKed or not) and what it declared on reconnect. */
  known: KnownVersions;
  /** Names the client (re)subscribed to: the protocol requires an answer even if it already holds them. */
  mustAnswer: Set<string>;
  /** The snapshot whose resources of this type the client holds exactly (wildcard only): diffs start there. */
  syncedTo: Snapshot | undefined;
  responded: boolean;
  inflightVersion: string;
  /**
   * The last response's resources until its ACK or NACK: the snapshot's own objects (shared), not per-stream copies;
   * a first sync at 10,000 destinations names 30,000 of them.
   */
  inflightResources: readonly Resource[];
  /** Resources the client NACKed, with dependencyAcks() then: retried once only after an earlier type moved on. */
  rejected: { resources: readonly Resource[]; deps: number } | undefined;
}

interface DeltaPlan {
  resources: Resource[];
  removed: string[];
  /** After this response the client holds exactly the snapshot's resources of the type. */
  complete: boolean;
}

/** The namespaces the names of a snapshot's resource Map fall in, computed once per Map. */
const namespaces = new WeakMap<ReadonlyMap<string, Resource>, ReadonlySet<string>>();
function namespacesOf(all: ReadonlyMap<string, Resource>): ReadonlySet<string> {
  let set = namespaces.get(all);
  if (!set) {
    const found = new Set<string>();
    for (const name of all.keys()) found.add(namespaceOf(name));
    namespaces.set(all, (set = found));
  }
  return set;
}

function isWildcard(state: DeltaTypeState): boolean {
  return state.legacyWildcard || state.explicitWildcard;
}

/** Incremental xDS over ADS: responses carry only what changed, removals by name, and a per-resource version. */
class DeltaStream extends AdsStream<DeltaDiscoveryRequest, EncodedResponse, DeltaTypeState, DeltaPlan> {
  /**
   * Envoy on delta ADS takes the route table over VHDS (resources/vhds.ts): VHDS works only on delta
   * (vhds.cc VhdsSubscription::createVhdsSubscription). Other delta clients (no VHDS support known) get the whole
   * route configuration, as SotW clients do.
   */
  protected override takesVhds(node: Node): boolean {
    return node.user_agent_name === 'envoy';
  }

  protected handle(req: DeltaDiscoveryRequest, typeUrl: string): void {
    let state = this.states.get(typeUrl);
    const first = !state;
    if (!state) {
      state = {
        typeUrl,
        nonce: undefined,
        inflight: false,
        legacyWildcard: false,
        explicitWildcard: false,
        names: new Set(),
        known: new KnownVersions(),
        mustAnswer: new Set(),
        syncedTo: undefined,
        responded: false,
        inflightVersion: '',
        inflightResources: [],
        rejected: undefined,
      };
      this.states.set(typeUrl, state);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '' && nonce === state.nonce && state.inflight) {
      state.inflight = false;
      if (req.error_detail) {
        const message = req.error_detail.message ?? '';
        state.rejected = { resources: state.inflightResources, deps: this.dependencyAcks(typeUrl) };
        this.status?.nacked(typeUrl, state.inflightVersion, nonce, req.error_detail.code ?? 0, message);
        this.logger?.warn({ node: this.status?.info.nodeId, typeUrl, version: state.inflightVersion, message }, 'xds NACK');
      } else {
        this.countAck(typeUrl);
        state.rejected = undefined;
        state.inflightResources = [];
        this.status?.acked(typeUrl, state.inflightVersion);
      }
    } else if (nonce !== '') {
      // Stale nonce: no ACK meaning, but subscription changes in it still count.
      this.logger?.debug({ node: this.status?.info.nodeId, typeUrl, nonce, current: state.nonce }, 'xds stale nonce');
    }

    const subscribe = req.resource_names_subscribe ?? [];
    const initial = first ? (req.initial_resource_versions ?? {}) : {};
    if (first) {
      for (const [name, version] of Object.entries(initial)) state.known.set(name, version);
      if (subscribe.length === 0 && LEGACY_WILDCARD_TYPES.has(typeUrl)) state.legacyWildcard = true;
    }
    for (const name of subscribe) {
      if (name === '*') {
        state.explicitWildcard = true;
        continue;
      }
      state.legacyWildcard = false;
      state.names.add(name);
      // A reconnecting client that declared this name at a version does not need it again.
      if (!(name in initial)) state.mustAnswer.add(name);
    }
    const namespaced = NAMESPACED_TYPES.has(typeUrl);
    // Namespaces dropped in this request, forgotten in one pass over what is held (a request may name any number).
    const dropped = new Set<string>();
    for (const name of req.resource_names_unsubscribe ?? []) {
      if (name === '*') {
        state.explicitWildcard = false;
        state.legacyWildcard = false;
        continue;
      }
      state.names.delete(name);
      state.mustAnswer.delete(name);
      if (namespaced) dropped.add(name);
      else if (!isWildcard(state)) state.known.delete(name);
    }
    if (dropped.size > 0) for (const held of state.known.names()) if (dropped.has(namespaceOf(held))) state.known.delete(held);
    // A namespace subscription keeps its sync point across ACKs (it only moves when the names do).
    if (namespaced ? subscribe.length > 0 || (req.resource_names_unsubscribe ?? []).length > 0 : !isWildcard(state)) state.syncedTo = undefined;
  }

  /**
   * VHDS: the subscribed names are namespaces (the route configuration's name); every resource named
   * `<namespace>/...` is sent without being asked for by name, changes by diff against the last snapshot sent
   * (watch_map.cc WatchMap::watchesInterestedIn). A namespace with nothing in it is answered with its own name in
   * removed_resources: Envoy's VHDS init target waits for an update naming something in the namespace
   * (vhds.cc VhdsSubscription::onConfigUpdate), and an empty response would reach no watch.
   */
  private planNamespaced(state: DeltaTypeState, snapshot: Snapshot): DeltaPlan | undefined {
    const all = snapshot.resources(state.typeUrl);
    const resources: Resource[] = [];
    const removed: string[] = [];
    const inScope = (name: string): boolean => state.names.has(namespaceOf(name));
    const consider = (name: string): void => {
      const r = all.get(name);
      if (r && inScope(name)) {
        if (state.mustAnswer.has(name) || state.known.get(name) !== r.version) resources.push(r);
      } else if (state.known.has(name)) removed.push(name);
    };
    if (state.syncedTo && state.mustAnswer.size === 0) {
      if (state.syncedTo === snapshot) return undefined;
      for (const name of snapshot.changedSince(state.typeUrl, state.syncedTo)) consider(name);
    } else {
      for (const name of all.keys()) if (inScope(name)) consider(name);
      for (const name of state.known.names()) if (!all.has(name) || !inScope(name)) consider(name);
      // The namespaces that have resources, computed once per Map: a client may subscribe to any number of names.
      const present = namespacesOf(all);
      for (const ns of state.names) if (state.mustAnswer.has(ns) && !present.has(ns)) removed.push(ns);
    }
    if (resources.length === 0 && removed.length === 0) {
      state.syncedTo = snapshot;
      this.rebaseIfWhole(state, snapshot);
      state.mustAnswer.clear();
      return undefined;
    }
    return { resources, removed, complete: true };
  }

  protected plan(state: DeltaTypeState, snapshot: Snapshot, pass: PushPass): DeltaPlan | undefined {
    const all = snapshot.resources(state.typeUrl);
    const wildcard = isWildcard(state);
    if (state.rejected && state.rejected.deps !== this.dependencyAcks(state.typeUrl)) {
      for (const { name, version } of state.rejected.resources) {
        if (all.get(name)?.version === version && state.known.get(name) === version) state.mustAnswer.add(name);
      }
      state.rejected = undefined;
    }
    if (NAMESPACED_TYPES.has(state.typeUrl)) return pass === 'make' ? this.planNamespaced(state, snapshot) : undefined;
    // Dropping clusters and load assignments waits for the break pass; answers about missing names do not.
    const dropStale = pass === 'break' || (state.typeUrl !== TYPE_URL.cluster && state.typeUrl !== TYPE_URL.endpoint);
    const resources: Resource[] = [];
    const removed: string[] = [];
    let deferred = false;
    const consider = (name: string): void => {
      const r = all.get(name);
      if (r) {
        if (state.mustAnswer.has(name) || state.known.get(name) !== r.version) resources.push(r);
      } else if (state.mustAnswer.has(name)) {
        removed.push(name);
      } else if (state.known.has(name)) {
        if (dropStale) removed.push(name);
        else deferred = true;
      }
    };

    if (wildcard) {
      if (state.syncedTo && state.mustAnswer.size === 0) {
        if (state.syncedTo === snapshot) return undefined;
        for (const name of snapshot.changedSince(state.typeUrl, state.syncedTo)) consider(name);
      } else {
        for (const name of all.keys()) consider(name);
        for (const name of state.known.names()) if (!all.has(name)) consider(name);
        for (const name of state.mustAnswer) if (!all.has(name) && !state.known.has(name)) consider(name);
      }
    } else {
      for (const name of state.names) consider(name);
    }

    const complete = wildcard && !deferred;
    if (resources.length === 0 && removed.length === 0) {
      if (complete) {
        state.syncedTo = snapshot;
        this.rebaseIfWhole(state, snapshot);
      }
      // A wildcard subscriber waits for a first answer even when there is nothing (Envoy's initial CDS/LDS fetch).
      if (wildcard && !state.responded && pass === 'make') return { resources, removed, complete };
      return undefined;
    }
    return { resources, removed, complete };
  }

  protected send(state: DeltaTypeState, snapshot: Snapshot, plan: DeltaPlan, nonce: string): void {
    for (const r of plan.resources) {
      state.known.set(r.name, r.version);
      state.mustAnswer.delete(r.name);
    }
    for (const name of plan.removed) {
      state.known.delete(name);
      state.mustAnswer.delete(name);
    }
    if (plan.complete) {
      state.syncedTo = snapshot;
      this.rebaseIfWhole(state, snapshot);
    }
    if (NAMESPACED_TYPES.has(state.typeUrl)) state.mustAnswer.clear();
    state.responded = true;
    state.inflightVersion = snapshot.version;
    state.inflightResources = plan.resources;
    if (state.typeUrl === TYPE_URL.cluster) this.refreshEndpointsOf(plan.resources);
    if (state.typeUrl === TYPE_URL.endpoint) {
      this.endpointsDelivered(plan.resources.map((r) => r.name));
      this.endpointsDelivered(plan.removed);
    }
    // Each resource entry is encoded once; small responses are shared by streams sending the same one.
    this.write(deltaResponseBytes(snapshot, state.typeUrl, plan.resources, plan.removed, nonce));
    this.status?.sent(state.typeUrl, snapshot.version, nonce, plan.resources.length, plan.removed.length);
  }

  /**
   * Synced (complete) to a snapshot: a wildcard stream then holds exactly the snapshot's resources of the type, a
   * namespace stream those in its namespaces, which is all of them when every name's namespace is subscribed. Its
   * known versions become the snapshot's own Map (KnownVersions).
   */
  private rebaseIfWhole(state: DeltaTypeState, snapshot: Snapshot): void {
    const all = snapshot.resources(state.typeUrl);
    if (NAMESPACED_TYPES.has(state.typeUrl)) {
      for (const ns of namespacesOf(all)) if (!state.names.has(ns)) return;
    } else if (!isWildcard(state)) return;
    state.known.rebase(all);
  }

  protected sizeOf(plan: DeltaPlan): number {
    return estimateBytes(plan.resources);
  }

  /** Envoy re-warms a changed EDS cluster and needs its load assignment again, even an unchanged one. */
  private refreshEndpointsOf(clusters: readonly Resource[]): void {
    const eds = this.states.get(TYPE_URL.endpoint);
    if (!eds) return;
    for (const cluster of clusters) {
      const endpoints = cluster.refs?.endpoints ?? [];
      this.awaitEndpoints(endpoints);
      for (const name of endpoints) {
        if (eds.names.has(name) || isWildcard(eds)) eds.mustAnswer.add(name);
      }
    }
  }
}

/**
 * grpc-js handler for AggregatedDiscoveryService/DeltaAggregatedResources; it writes encoded responses, which must be
 * passed through as they are (registerAds serializes with encodeDeltaResponse, which does).
 */
export function deltaHandler(deps: AdsDeps): grpc.handleBidiStreamingCall<DeltaDiscoveryRequest, EncodedResponse> {
  return (call) => {
    new DeltaStream(call, deps, 'delta');
  };
}
