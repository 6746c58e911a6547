import type { Logger } from 'pino';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { SnapshotCache } from './cache/cache.js';
import { Snapshot } from './cache/snapshot.js';
import { planResources } from './resources/build.js';
import type { XdsOptions } from './resources/options.js';
import type { EncodedPart, PartCache } from './resources/routes.js';
import { makeResource, type Resource, type ResourceRefs } from './types.js';

/**
 * Memo keys of resources whose key is not their name ('' for none), kept with the resource itself: a reused resource
 * keeps its key, and a warm publish looks a key up by object (no per-publish Map of 10,000 virtual-host keys by name,
 * which the VHDS view made the largest per-destination cost after the plans themselves).
 */
const memoKeys = new WeakMap<Resource, string>();

/** Every gateway gets the policy's snapshot; the cache still keys by group so groups can diverge later. */
export const POLICY_GROUP = 'egress';

export interface PublishResult {
  ok: boolean;
  version: string;
  resources: number;
  encoded: number;
  buildMs: number;
  reasons?: string[];
}

/**
 * Turns each policy version into an xDS snapshot and publishes it. A resource of the last snapshot is reused when the
 * new one of the same type and name has the same memo key (a cluster's is its name, which spells everything it
 * depends on), and the route configuration is reassembled from encoded virtual hosts kept by host, so a policy edit
 * re-encodes only the destinations it touched.
 */
export class PolicyPublisher {
  /** The last snapshot built (published or refused): the memo of encoded resources, by type and name. */
  private last: Snapshot | undefined;
  /** Encoded virtual hosts of the route configuration by key. */
  private parts = new Map<string, EncodedPart>();

  constructor(
    private readonly cache: SnapshotCache,
    private options: XdsOptions,
    private readonly log?: Logger,
  ) {}

  /**
   * New options (a rotated downstream certificate) for the same policy version: the snapshot gets a new version so
   * streams see a change, and only resources whose bytes changed (the secrets) are sent again.
   */
  updateOptions(options: XdsOptions, version: PolicyVersion): PublishResult {
    this.options = options;
    this.revision++;
    return this.publish(version);
  }

  /** Counts option changes within one policy version, so each gives a distinct snapshot version. */
  private revision = 0;

  publish(version: PolicyVersion): PublishResult {
    const started = performance.now();
    const nextParts = new Map<string, EncodedPart>();
    const resources: Resource[] = [];
    // Route configuration and virtual hosts of the VHDS view (Envoys on delta ADS): see resources/vhds.ts.
    const vhdsResources: Resource[] = [];
    let encoded = 0;
    const previousParts = this.parts;
    const parts: PartCache = {
      get: (key) => previousParts.get(key),
      set: (key, part) => void nextParts.set(key, part),
    };
    try {
      for (const plan of planResources(version.policy, this.options, true)) {
        const { typeUrl, name, memoKey } = plan;
        const vhds = plan.audience === 'vhds';
        const previous = (vhds ? this.last?.vhds : this.last)?.get(typeUrl, name);
        const previousKey = previous ? (memoKeys.get(previous) ?? name) : undefined;
        let resource: Resource;
        if (memoKey !== undefined && previous && previousKey === memoKey) {
          resource = previous;
        } else if (memoKey !== undefined) {
          resource = makeResource(typeUrl, name, plan.encode(parts), plan.refs);
          encoded++;
        } else {
          // Encoded every time (from cached parts); the last resource is kept when the bytes did not change.
          const body = plan.encode(parts);
          if (previous && previousKey === '' && previous.body.equals(body) && sameRefs(previous.refs, plan.refs)) resource = previous;
          else {
            resource = makeResource(typeUrl, name, body, plan.refs);
            encoded++;
          }
        }
        if (memoKey !== name && resource !== previous) memoKeys.set(resource, memoKey ?? '');
        (vhds ? vhdsResources : resources).push(resource);
      }
    } catch (err) {
      const reasons = [(err as Error).message];
      this.log?.error({ policyVersion: version.version, reasons }, 'xds resources could not be built; the last good snapshot keeps serving');
      return { ok: false, version: String(version.version), resources: 0, encoded, buildMs: performance.now() - started, reasons };
    }
    const snapshot = Snapshot.from(this.revision === 0 ? String(version.version) : `${version.version}.${this.revision}`, resources).withVhds(vhdsResources);
    this.last = snapshot;
    this.parts = nextParts;
    const result = this.cache.setSnapshot(POLICY_GROUP, snapshot);
    const buildMs = performance.now() - started;
    this.log?.info({ policyVersion: version.version, resources: resources.length, vhdsResources: vhdsResources.length, encoded, buildMs: Math.round(buildMs) }, 'xds snapshot built');
    return { ok: result.ok, version: snapshot.version, resources: resources.length, encoded, buildMs, ...(result.ok ? {} : { reasons: result.reasons }) };
  }
}

function sameRefs(a: ResourceRefs | undefined, b: ResourceRefs | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) => x === y || (!!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]));
  return same(a.clusters, b.clusters) && same(a.routes, b.routes) && same(a.endpoints, b.endpoints) && same(a.secrets, b.secrets);
}
