import type { Logger } from 'pino';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { SnapshotCache } from './cache/cache.js';
import { Snapshot } from './cache/snapshot.js';
import { planResources } from './resources/build.js';
import type { XdsOptions } from './resources/options.js';
import type { PartCache } from './resources/routes.js';
import { makeResource, type Resource, type ResourceRefs } from './types.js';

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
 * Turns each policy version into an xDS snapshot and publishes it. Encoded resources are memoised by their memo key
 * (a cluster by its name, which spells everything it depends on), and the route configuration is reassembled from
 * encoded virtual hosts kept by key, so a policy edit re-encodes only the destinations it touched.
 */
export class PolicyPublisher {
  private memo = new Map<string, Resource>();
  private parts = new Map<string, Buffer>();
  private unkeyed = new Map<string, Resource>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly options: XdsOptions,
    private readonly log?: Logger,
  ) {}

  publish(version: PolicyVersion): PublishResult {
    const started = performance.now();
    const next = new Map<string, Resource>();
    const nextParts = new Map<string, Buffer>();
    const nextUnkeyed = new Map<string, Resource>();
    const resources: Resource[] = [];
    let encoded = 0;
    const previousParts = this.parts;
    const parts: PartCache = {
      get: (key) => previousParts.get(key),
      set: (key, bytes) => void nextParts.set(key, bytes),
    };
    try {
      for (const plan of planResources(version.policy, this.options)) {
        let resource: Resource | undefined;
        if (plan.memoKey !== undefined) {
          const key = `${plan.typeUrl}\n${plan.memoKey}`;
          resource = this.memo.get(key);
          if (!resource) {
            resource = makeResource(plan.typeUrl, plan.name, plan.encode(parts), plan.refs);
            encoded++;
          }
          next.set(key, resource);
        } else {
          // Encoded every time (from cached parts); the last resource is kept when the bytes did not change.
          const key = `${plan.typeUrl}\n${plan.name}`;
          const body = plan.encode(parts);
          const last = this.unkeyed.get(key);
          if (last && last.body.equals(body) && sameRefs(last.refs, plan.refs)) resource = last;
          else {
            resource = makeResource(plan.typeUrl, plan.name, body, plan.refs);
            encoded++;
          }
          nextUnkeyed.set(key, resource);
        }
        resources.push(resource);
      }
    } catch (err) {
      const reasons = [(err as Error).message];
      this.log?.error({ policyVersion: version.version, reasons }, 'xds resources could not be built; the last good snapshot keeps serving');
      return { ok: false, version: String(version.version), resources: 0, encoded, buildMs: performance.now() - started, reasons };
    }
    this.memo = next;
    this.parts = nextParts;
    this.unkeyed = nextUnkeyed;
    const snapshot = Snapshot.from(String(version.version), resources);
    const result = this.cache.setSnapshot(POLICY_GROUP, snapshot);
    const buildMs = performance.now() - started;
    this.log?.info({ policyVersion: version.version, resources: resources.length, encoded, buildMs: Math.round(buildMs) }, 'xds snapshot built');
    return { ok: result.ok, version: snapshot.version, resources: resources.length, encoded, buildMs, ...(result.ok ? {} : { reasons: result.reasons }) };
  }
}

function sameRefs(a: ResourceRefs | undefined, b: ResourceRefs | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) => x === y || (!!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]));
  return same(a.clusters, b.clusters) && same(a.routes, b.routes) && same(a.endpoints, b.endpoints) && same(a.secrets, b.secrets);
}
