import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../redis/connection.js';
import { StalePolicyError, type PolicyStore, type StoredPolicy } from '../policy-store.js';

// Compare-and-set on the version, then announce it: one atomic step, so two replicas cannot both store version N.
const SAVE_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if cur >= tonumber(ARGV[1]) then return cur end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'text', ARGV[2], 'sha256', ARGV[3], 'sourceSha256', ARGV[4], 'updatedAt', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[1])
return -1
`;

export interface RedisPolicyStoreOptions {
  /** Safety net behind pub/sub: how often to compare the stored version with ours (default 5 s). */
  reconcileMs?: number;
  /** Told when Redis came back empty and this replica offered its version (re-seed). */
  onReseed?: (version: number, won: boolean) => void;
  onError?: (task: string, err: unknown) => void;
}

/**
 * The fleet's policy: one hash, written only by a compare-and-set on the version, announced on a
 * channel. A replica that missed announcements (disconnected) catches up on reconnect and every
 * `reconcileMs`. When Redis comes back empty (its generation key is gone), every replica offers the
 * version it serves and the compare-and-set keeps the newest.
 */
export class RedisPolicyStore implements PolicyStore {
  readonly path: string;
  private lastKnown: StoredPolicy | undefined;
  private generation: string | undefined;
  private readonly watchers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly offReconnect: () => void;
  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== this.conn.keys.policyChannel) return;
    if (Number(message) > (this.lastKnown?.version ?? 0)) this.notify();
  };

  private readonly onSubscriberReady = () => {
    if (this.conn.up) void this.reconcile().catch((err: unknown) => this.opts.onError?.('redis-policy-resubscribe', err));
  };

  private constructor(
    private readonly conn: RedisConnection,
    private readonly opts: RedisPolicyStoreOptions,
  ) {
    this.path = `${conn.where} ${conn.keys.policyDoc}`;
    conn.sub.on('message', this.onMessage);
    // Notices sent while the subscription was down are gone: compare versions once it is back.
    conn.sub.on('ready', this.onSubscriberReady);
    this.offReconnect = conn.onReconnect(() => void this.reconcile().catch((err: unknown) => opts.onError?.('redis-policy-reconnect', err)));
    this.timer = setInterval(() => {
      if (conn.up) void this.reconcile().catch((err: unknown) => opts.onError?.('redis-policy-reconcile', err));
    }, opts.reconcileMs ?? 5000);
    this.timer.unref();
  }

  static async open(conn: RedisConnection, opts: RedisPolicyStoreOptions = {}): Promise<RedisPolicyStore> {
    const store = new RedisPolicyStore(conn, opts);
    await conn.sub.subscribe(conn.keys.policyChannel);
    store.generation = await store.currentGeneration();
    return store;
  }

  async load(): Promise<StoredPolicy | undefined> {
    if (!this.conn.up) throw this.conn.unavailable();
    const h = await this.conn.client.hgetall(this.conn.keys.policyDoc);
    if (!h.version || h.text === undefined || !h.sha256 || !h.updatedAt) return undefined;
    const stored: StoredPolicy = { version: Number(h.version), text: h.text, sha256: h.sha256, ...(h.sourceSha256 ? { sourceSha256: h.sourceSha256 } : {}), updatedAt: h.updatedAt };
    if (!this.lastKnown || stored.version >= this.lastKnown.version) this.lastKnown = stored;
    return stored;
  }

  async save(policy: StoredPolicy): Promise<void> {
    if (!this.conn.up) throw this.conn.unavailable();
    const result = await this.casWrite(policy);
    if (result >= 0) {
      const stored = await this.load();
      throw new StalePolicyError(stored ?? { ...policy, version: result });
    }
    this.lastKnown = policy;
  }

  watch(onNewVersion: () => void): () => void {
    this.watchers.add(onNewVersion);
    return () => this.watchers.delete(onNewVersion);
  }

  /** Re-seeds an emptied Redis, then tells the manager when the stored version is newer than ours. */
  async reconcile(): Promise<void> {
    const generation = await this.currentGeneration();
    if (generation !== this.generation) {
      this.generation = generation;
      if (this.lastKnown) {
        const won = (await this.casWrite(this.lastKnown)) < 0;
        this.opts.onReseed?.(this.lastKnown.version, won);
      }
    }
    const stored = Number((await this.conn.client.hget(this.conn.keys.policyDoc, 'version')) ?? 0);
    if (stored > (this.lastKnown?.version ?? 0)) this.notify();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.offReconnect();
    this.conn.sub.off('message', this.onMessage);
    this.conn.sub.off('ready', this.onSubscriberReady);
    this.watchers.clear();
  }

  /** -1 when written, else the stored version that was not older. */
  private async casWrite(p: StoredPolicy): Promise<number> {
    const k = this.conn.keys;
    return (await this.conn.client.eval(SAVE_SCRIPT, 1, k.policyDoc, p.version, p.text, p.sha256, p.sourceSha256 ?? '', p.updatedAt, k.policyChannel)) as number;
  }

  /** The generation key, created when missing: a Redis that restarted empty gets a new one. */
  private async currentGeneration(): Promise<string> {
    const key = this.conn.keys.generation;
    await this.conn.client.set(key, randomUUID(), 'NX');
    return (await this.conn.client.get(key)) ?? '';
  }

  private notify(): void {
    for (const w of this.watchers) w();
  }
}
