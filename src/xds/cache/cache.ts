import type { Logger } from 'pino';
import type { Node } from '../../proto/gen/envoy/config/core/v3/base.js';
import type { Snapshot } from './snapshot.js';

/** Maps a connecting node to the key its snapshot is stored under. */
export type NodeGroupFn = (node: Node) => string;

export type SnapshotListener = (snapshot: Snapshot) => void;

export type SetSnapshotResult =
  | { ok: true; group: string; version: string }
  | { ok: false; group: string; version: string; reasons: string[]; serving: string | undefined };

export interface Refusal {
  version: string;
  reasons: string[];
  at: Date;
}

export interface SnapshotCacheOptions {
  /** Default: node.cluster, or node.id when the cluster is empty. */
  groupOf?: NodeGroupFn;
  logger?: Logger;
}

/** The default node group: Envoys started with the same --service-cluster share a snapshot. */
export const groupByClusterOrId: NodeGroupFn = (node) => node.cluster || node.id || '';

/**
 * Holds the last consistent snapshot per node group and tells watchers when it changes. It knows nothing about
 * streams or the protocol; the stream servers subscribe to it.
 */
export class SnapshotCache {
  readonly groupOf: NodeGroupFn;
  private readonly logger: Logger | undefined;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly watchers = new Map<string, Set<SnapshotListener>>();
  private readonly refusals = new Map<string, Refusal>();

  constructor(options: SnapshotCacheOptions = {}) {
    this.groupOf = options.groupOf ?? groupByClusterOrId;
    this.logger = options.logger;
  }

  /** Publishes a snapshot to a group, unless it is inconsistent: then the last good one keeps serving. */
  setSnapshot(group: string, snapshot: Snapshot): SetSnapshotResult {
    const reasons = snapshot.consistent();
    const current = this.snapshots.get(group);
    if (reasons.length > 0) {
      this.refusals.set(group, { version: snapshot.version, reasons, at: new Date() });
      this.logger?.warn({ group, version: snapshot.version, reasons, serving: current?.version }, 'xds snapshot refused');
      return { ok: false, group, version: snapshot.version, reasons, serving: current?.version };
    }
    this.refusals.delete(group);
    if (current === snapshot) return { ok: true, group, version: snapshot.version };
    this.snapshots.set(group, snapshot);
    this.logger?.debug({ group, version: snapshot.version, resources: snapshot.size }, 'xds snapshot published');
    for (const listener of [...(this.watchers.get(group) ?? [])]) {
      try {
        listener(snapshot);
      } catch (err) {
        this.logger?.error({ err, group }, 'xds snapshot watcher failed');
      }
    }
    return { ok: true, group, version: snapshot.version };
  }

  getSnapshot(group: string): Snapshot | undefined {
    return this.snapshots.get(group);
  }

  /** Forgets a group's snapshot; streams keep what they were sent and wait for the next one. */
  clearSnapshot(group: string): void {
    this.snapshots.delete(group);
    this.refusals.delete(group);
  }

  /** The reasons the group's last setSnapshot was refused, until a consistent one is accepted. */
  lastRefusal(group: string): Refusal | undefined {
    return this.refusals.get(group);
  }

  groups(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Calls the listener on every accepted snapshot of the group; returns the unsubscribe function. */
  watch(group: string, listener: SnapshotListener): () => void {
    let set = this.watchers.get(group);
    if (!set) this.watchers.set(group, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.watchers.get(group);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.watchers.delete(group);
    };
  }

  /** Number of listeners watching a group (streams connected for it). */
  watcherCount(group: string): number {
    return this.watchers.get(group)?.size ?? 0;
  }
}
