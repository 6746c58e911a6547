import type { Logger } from 'pino';
import type { PolicyVersion } from '../engine/policy-version.js';
import { encodeMessage } from '../proto/strict/index.js';
import type { SnapshotCache } from './cache/cache.js';
import { Snapshot } from './cache/snapshot.js';
import { buildResources, type ResourceJson } from './resources/build.js';
import type { XdsOptions } from './resources/options.js';
import { makeResource, type Resource } from './types.js';

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
 * Turns each policy version into an xDS snapshot and publishes it. Encoded resources are memoised by
 * their canonical JSON, so a policy edit re-encodes only the destinations it touched.
 */
export class PolicyPublisher {
  private memo = new Map<string, Resource>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly options: XdsOptions,
    private readonly log?: Logger,
  ) {}

  publish(version: PolicyVersion): PublishResult {
    const started = performance.now();
    let built: ResourceJson[];
    const next = new Map<string, Resource>();
    let encoded = 0;
    try {
      built = buildResources(version.policy, this.options);
      for (const r of built) {
        const key = `${r.typeUrl}\n${JSON.stringify(r.json)}`;
        let resource = this.memo.get(key);
        if (!resource) {
          resource = makeResource(r.typeUrl, r.name, encodeMessage(r.typeName, r.json), r.refs);
          encoded++;
        }
        next.set(key, resource);
      }
    } catch (err) {
      const reasons = [(err as Error).message];
      this.log?.error({ policyVersion: version.version, reasons }, 'xds resources could not be built; the last good snapshot keeps serving');
      return { ok: false, version: String(version.version), resources: 0, encoded, buildMs: performance.now() - started, reasons };
    }
    this.memo = next;
    const snapshot = Snapshot.from(String(version.version), next.values());
    const result = this.cache.setSnapshot(POLICY_GROUP, snapshot);
    const buildMs = performance.now() - started;
    this.log?.info({ policyVersion: version.version, resources: next.size, encoded, buildMs: Math.round(buildMs) }, 'xds snapshot built');
    return { ok: result.ok, version: snapshot.version, resources: next.size, encoded, buildMs, ...(result.ok ? {} : { reasons: result.reasons }) };
  }
}
