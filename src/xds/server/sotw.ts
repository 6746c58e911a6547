import type * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '../../proto/gen/envoy/service/discovery/v3/discovery.js';
import { contentKeyOf, type Snapshot } from '../cache/snapshot.js';
import { LEGACY_WILDCARD_TYPES, TYPE_URL, type Resource } from '../types.js';
import { estimateBytes, sotwResponseBytes, type EncodedResponse } from './encode.js';
import { AdsStream, type AdsDeps, type PushPass, type TypeStateBase } from './stream.js';

interface Sent {
  version: string;
  key: string;
  resources: ReadonlyMap<string, Resource>;
}

interface SotwTypeState extends TypeStateBase {
  wildcard: boolean;
  names: Set<string>;
  /** Once a type has named resources, an empty list means "none" rather than the legacy wildcard. */
  everNamed: boolean;
  lastSent: Sent | undefined;
  /** Content the client NACKed, with dependencyAcks() then: it is retried only after an earlier type moved on. */
  rejected: { key: string; deps: number } | undefined;
  /** A cluster naming these endpoints was (re)sent: Envoy needs the load assignment again even if unchanged. */
  forceResend: boolean;
  /** Names subscribed since the last response: the client may have dropped them, so they are sent even if unchanged. */
  added: Set<string>;
}

interface SotwPlan {
  key: string;
  resources: ReadonlyMap<string, Resource>;
}

/** State of the world over ADS: every response carries the whole subscribed set of its type. */
class SotwStream extends AdsStream<DiscoveryRequest, EncodedResponse, SotwTypeState, SotwPlan> {
  protected handle(req: DiscoveryRequest, typeUrl: string): void {
    let state = this.states.get(typeUrl);
    if (!state) {
      state = {
        typeUrl,
        nonce: undefined,
        inflight: false,
        wildcard: false,
        names: new Set(),
        everNamed: false,
        lastSent: undefined,
        rejected: undefined,
        forceResend: false,
        added: new Set(),
      };
      this.states.set(typeUrl, state);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      // A request answering an older response crossed a newer one in flight; the client will answer that one too.
      if (nonce !== state.nonce) {
        this.logger?.debug({ node: this.status?.info.nodeId, typeUrl, nonce, current: state.nonce }, 'xds stale nonce ignored');
        return;
      }
      if (state.inflight) {
        state.inflight = false;
        if (req.error_detail) {
          state.rejected = { key: state.lastSent?.key ?? '', deps: this.dependencyAcks(typeUrl) };
          const message = req.error_detail.message ?? '';
          this.status?.nacked(typeUrl, state.lastSent?.version ?? '', nonce, req.error_detail.code ?? 0, message);
          this.logger?.warn({ node: this.status?.info.nodeId, typeUrl, version: state.lastSent?.version, message }, 'xds NACK');
        } else {
          this.countAck(typeUrl);
          state.rejected = undefined;
          this.status?.acked(typeUrl, req.version_info ?? '');
        }
      }
    }
    const names = req.resource_names ?? [];
    state.wildcard = names.includes('*') || (names.length === 0 && LEGACY_WILDCARD_TYPES.has(typeUrl) && !state.everNamed);
    const next = new Set(names.filter((n) => n !== '*'));
    for (const name of next) if (!state.names.has(name)) state.added.add(name);
    for (const name of state.added) if (!next.has(name)) state.added.delete(name);
    state.names = next;
    if (state.names.size > 0) state.everNamed = true;
  }

  protected plan(state: SotwTypeState, snapshot: Snapshot, pass: PushPass): SotwPlan | undefined {
    // Only clusters have a break step in SotW: unreferenced routes and load assignments are dropped by Envoy itself.
    if (pass === 'break' && state.typeUrl !== TYPE_URL.cluster) return undefined;
    const all = snapshot.resources(state.typeUrl);
    let resources: ReadonlyMap<string, Resource>;
    let key: string;
    if (state.wildcard) {
      resources = all;
      key = snapshot.contentKey(state.typeUrl);
      if (pass === 'make' && state.typeUrl === TYPE_URL.cluster && state.lastSent) {
        const kept = keptClusters(state.lastSent.resources, all);
        if (kept) ({ resources, key } = kept);
      }
    } else {
      // Answer with the names that exist now (go-control-plane#426); with none there is nothing to say yet.
      const picked = pick(snapshot, state.typeUrl, state.names);
      if (!picked) return undefined;
      ({ resources, key } = picked);
    }
    const rejected = state.rejected?.key === key ? state.rejected : undefined;
    if (rejected) return rejected.deps !== this.dependencyAcks(state.typeUrl) ? { key, resources } : undefined;
    const last = state.lastSent;
    if (!last || state.forceResend) return { key, resources };
    if (state.wildcard) return key === last.key ? undefined : { key, resources };
    // A response only adds to what the client holds for RDS/EDS, so it is due only for new or changed resources.
    for (const [name, r] of resources) {
      if (state.added.has(name) || last.resources.get(name)?.version !== r.version) return { key, resources };
    }
    return undefined;
  }

  protected send(state: SotwTypeState, snapshot: Snapshot, plan: SotwPlan, nonce: string): void {
    const previous = state.lastSent?.resources;
    if (state.typeUrl === TYPE_URL.cluster) this.refreshEndpointsOf(plan.resources, previous);
    state.lastSent = { version: snapshot.version, key: plan.key, resources: plan.resources };
    state.forceResend = false;
    state.added.clear();
    if (state.typeUrl === TYPE_URL.endpoint) this.endpointsDelivered(plan.resources.keys());
    // Streams sending the same set share its encoding (plan.resources is the same Map object for them).
    this.write(sotwResponseBytes(snapshot.version, state.typeUrl, plan.resources, nonce));
    this.status?.sent(state.typeUrl, snapshot.version, nonce, plan.resources.size);
  }

  protected sizeOf(plan: SotwPlan): number {
    return estimateBytes(plan.resources);
  }

  private refreshEndpointsOf(clusters: ReadonlyMap<string, Resource>, previous: ReadonlyMap<string, Resource> | undefined): void {
    const eds = this.states.get(TYPE_URL.endpoint);
    if (!eds) return;
    for (const [name, cluster] of clusters) {
      if (previous?.get(name)?.version === cluster.version) continue;
      const endpoints = cluster.refs?.endpoints ?? [];
      this.awaitEndpoints(endpoints);
      if (endpoints.some((e) => eds.wildcard || eds.names.has(e))) eds.forceResend = true;
    }
  }
}

/**
 * Clusters a wildcard stream was sent that the new snapshot no longer has are kept in the make pass (dropped in the
 * break pass). Every stream synced to the same set computes the same thing, so it is computed once per pair of sets.
 */
const keptMemo = new WeakMap<ReadonlyMap<string, Resource>, WeakMap<ReadonlyMap<string, Resource>, SotwPlan | null>>();

function keptClusters(lastSent: ReadonlyMap<string, Resource>, all: ReadonlyMap<string, Resource>): SotwPlan | undefined {
  if (lastSent === all) return undefined;
  let byAll = keptMemo.get(lastSent);
  if (!byAll) keptMemo.set(lastSent, (byAll = new WeakMap()));
  let kept = byAll.get(all);
  if (kept === undefined) {
    let resources: Map<string, Resource> | undefined;
    for (const [name, r] of lastSent) {
      if (all.has(name)) continue;
      resources ??= new Map(all);
      resources.set(name, r);
    }
    kept = resources ? { resources, key: contentKeyOf(resources.values()) } : null;
    byAll.set(all, kept);
  }
  return kept ?? undefined;
}

/**
 * The subscribed resources that exist in the snapshot, in subscription order, and their content key; null when none
 * does. Streams subscribed to the same names get the same Map (so they share one encoding), computed once.
 */
const picks = new WeakMap<Snapshot, Map<string, SotwPlan | null>>();
const PICKS_PER_SNAPSHOT = 256;

function pick(snapshot: Snapshot, typeUrl: string, names: ReadonlySet<string>): SotwPlan | null {
  // Length-prefixed: names come from clients and may contain any character.
  let id = `${typeUrl.length}:${typeUrl}`;
  for (const name of names) id += `${name.length}:${name}`;
  let byId = picks.get(snapshot);
  if (!byId) picks.set(snapshot, (byId = new Map()));
  let picked = byId.get(id);
  if (picked === undefined) {
    const all = snapshot.resources(typeUrl);
    const resources = new Map<string, Resource>();
    for (const name of names) {
      const r = all.get(name);
      if (r) resources.set(name, r);
    }
    picked = resources.size === 0 ? null : { resources, key: contentKeyOf(resources.values()) };
    if (byId.size < PICKS_PER_SNAPSHOT) byId.set(id, picked);
  }
  return picked;
}

/**
 * grpc-js handler for AggregatedDiscoveryService/StreamAggregatedResources; it writes encoded responses, which must be
 * passed through as they are (registerAds serializes with encodeSotwResponse, which does).
 */
export function sotwHandler(deps: AdsDeps): grpc.handleBidiStreamingCall<DiscoveryRequest, EncodedResponse> {
  return (call) => {
    new SotwStream(call, deps, 'sotw');
  };
}
