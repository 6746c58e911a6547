import type { RedisConnection } from '../../redis/connection.js';
import type { NodeStatus, XdsStatus } from '../../xds/status.js';

export interface FleetNode extends NodeStatus {
  /** The Tollgate replica whose ADS stream serves this Envoy. */
  replica: string;
}

export interface XdsFleetOptions {
  /** How often this replica refreshes its entry (default 2 s); an entry lives 5 heartbeats. */
  heartbeatMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * Every replica's connected Envoys: each replica writes its own list to a hash that expires unless
 * refreshed (heartbeat, and at once on connect/disconnect/ACK/NACK), so a dead replica drops out.
 */
export class XdsFleet {
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private pending: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;

  constructor(
    private readonly conn: RedisConnection,
    private readonly status: XdsStatus,
    private readonly opts: XdsFleetOptions = {},
  ) {
    const heartbeat = opts.heartbeatMs ?? 2000;
    this.ttlMs = heartbeat * 5;
    this.timer = setInterval(() => this.publishSoon(0), heartbeat);
    this.timer.unref();
    // Bursts of ACKs (a fan-out) coalesce into one write.
    this.unsubscribe = status.subscribe(() => this.publishSoon(50));
    this.publishSoon(0);
  }

  /** This replica's nodes from memory, the others' from Redis (theirs are at most one heartbeat old). */
  async list(): Promise<FleetNode[]> {
    const self = this.conn.replicaId;
    const mine = this.status.list().map((n) => ({ ...n, replica: self }));
    if (!this.conn.up) return mine;
    const k = this.conn.keys;
    const replicas = await this.conn.client.zrangebyscore(k.xdsReplicas, Date.now() - this.ttlMs, '+inf');
    const others = replicas.filter((r) => r !== self);
    const pipe = this.conn.client.pipeline();
    for (const r of others) pipe.hget(k.xdsReplica(r), 'nodes');
    const res = others.length > 0 ? ((await pipe.exec()) ?? []) : [];
    const out: FleetNode[] = [...mine];
    res.forEach(([err, json], i) => {
      if (err || typeof json !== 'string') return;
      for (const n of JSON.parse(json) as NodeStatus[]) out.push({ ...n, replica: others[i]! });
    });
    return out.sort((a, b) => (a.nodeId === b.nodeId ? (a.replica < b.replica ? -1 : 1) : a.nodeId < b.nodeId ? -1 : 1));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.unsubscribe();
    if (!this.conn.up) return;
    const k = this.conn.keys;
    await this.conn.client.pipeline().del(k.xdsReplica(this.conn.replicaId)).zrem(k.xdsReplicas, this.conn.replicaId).exec().catch((err: unknown) => this.opts.onError?.(err));
  }

  private publishSoon(delayMs: number): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.publish().catch((err: unknown) => this.opts.onError?.(err));
    }, delayMs);
    this.pending.unref();
  }

  private async publish(): Promise<void> {
    if (!this.conn.up) return;
    const k = this.conn.keys;
    const key = k.xdsReplica(this.conn.replicaId);
    const now = Date.now();
    await this.conn.client
      .pipeline()
      .hset(key, 'nodes', JSON.stringify(this.status.list()), 'updatedAt', new Date(now).toISOString())
      .pexpire(key, this.ttlMs)
      .zadd(k.xdsReplicas, now, this.conn.replicaId)
      .zremrangebyscore(k.xdsReplicas, '-inf', now - this.ttlMs)
      .exec();
  }
}
