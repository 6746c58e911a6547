import type { Logger } from 'pino';
import { connectRedis, createRedisClient, describeTarget, parseRedisUrl, RedisKeys, type RedisClient } from './connect.js';

export interface RedisConnectionOptions {
  url: string;
  prefix?: string;
  replicaId: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  connectTimeoutMs?: number;
}

export interface RedisProblem {
  component: 'redis';
  reason: string;
  since: string;
}

/**
 * One command connection and one pub/sub connection to the configured Redis, with the key names and
 * whether Redis is reachable right now (for `/readyz` and for writes that must answer 503 at once).
 */
export class RedisConnection {
  private downSince: string | undefined;
  private lastError = '';
  private readonly readyListeners = new Set<() => void>();
  private closed = false;

  private constructor(
    readonly client: RedisClient,
    readonly sub: RedisClient,
    readonly keys: RedisKeys,
    readonly where: string,
    readonly replicaId: string,
    private readonly log: RedisConnectionOptions['log'],
  ) {
    const onDown = (err?: Error) => {
      if (err) this.lastError = err.message;
      if (this.closed || this.downSince) return;
      this.downSince = new Date().toISOString();
      this.log.error({ redis: where, error: this.lastError || undefined }, 'Redis unreachable: serving the last good policy; shared state is written when it returns');
    };
    client.on('error', (err: Error) => onDown(err));
    client.on('close', () => onDown());
    sub.on('error', (err: Error) => (this.lastError = err.message));
    client.on('ready', () => {
      if (!this.downSince) return;
      this.log.info({ redis: where, downSince: this.downSince }, 'Redis reachable again');
      this.downSince = undefined;
      for (const l of this.readyListeners) l();
    });
  }

  static async open(opts: RedisConnectionOptions): Promise<RedisConnection> {
    const target = parseRedisUrl(opts.url);
    const where = describeTarget(target);
    const client = createRedisClient(target);
    await connectRedis(client, where, opts.connectTimeoutMs);
    // Subscribers must keep their subscription across reconnects: ioredis resubscribes on its own.
    const sub = createRedisClient(target, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    try {
      await connectRedis(sub, where, opts.connectTimeoutMs);
    } catch (err) {
      client.disconnect();
      throw err;
    }
    opts.log.info({ redis: where, replica: opts.replicaId }, 'shared state in Redis');
    return new RedisConnection(client, sub, new RedisKeys(opts.prefix), where, opts.replicaId, opts.log);
  }

  /** Commands can be sent now (they fail fast otherwise: no offline queue). */
  get up(): boolean {
    return this.client.status === 'ready' && !this.downSince;
  }

  /** Why shared state is degraded, or undefined while Redis answers. */
  problem(): RedisProblem | undefined {
    if (this.up) return undefined;
    return { component: 'redis', reason: `Redis at ${this.where} is unreachable${this.lastError ? ` (${this.lastError})` : ''}: decisions use the last good policy, policy writes answer 503, inventory deltas wait in memory`, since: this.downSince ?? new Date().toISOString() };
  }

  /** Called every time the connection comes back after being down (catch-up, re-seed, flush). */
  onReconnect(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  /** A clear error for writes attempted while Redis is down. */
  unavailable(): Error & { code: string } {
    return Object.assign(new Error(`Redis at ${this.where} is unreachable`), { code: 'REDIS_UNAVAILABLE' });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.readyListeners.clear();
    await Promise.allSettled([this.sub.quit(), this.client.quit()]);
    this.sub.disconnect();
    this.client.disconnect();
  }
}
