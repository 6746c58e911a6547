import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A standalone, Sentinel-managed or Cluster connection: the stores use only commands all three share. */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: 'standalone'; url: string; tls: boolean; db: number }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; masterName: string; db: number; username?: string; password?: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; tls: boolean; username?: string; password?: string };

/**
 * Parses `TOLLGATE_REDIS_URL`:
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS)
 * - `redis+sentinel://[user:pass@]host1:26379,host2:26379/mastername[/db]`
 * - `redis+cluster://[user:pass@]host1:6379,host2:6379` (`rediss+cluster://` for TLS)
 * Throws with the form expected; the message never repeats the password.
 */
export function parseRedisUrl(raw: string): RedisTarget {
  const m = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/]*)(?:\/(.*))?$/.exec(raw.trim());
  if (!m) throw new Error(`TOLLGATE_REDIS_URL is not a URL: expected redis://host:port[/db], rediss://, redis+sentinel://host:port,host:port/master[/db] or redis+cluster://host:port,host:port`);
  const [, scheme, userinfo, hostList, path = ''] = m as unknown as [string, string, string | undefined, string, string | undefined];
  const auth = parseUserinfo(userinfo);
  switch (scheme) {
    case 'redis':
    case 'rediss': {
      const db = path === '' ? 0 : parseDb(path);
      parseHosts(hostList, 6379);
      return { kind: 'standalone', url: raw.trim(), tls: scheme === 'rediss', db };
    }
    case 'redis+sentinel':
    case 'rediss+sentinel': {
      const [masterName, dbPart] = path.split('/');
      if (!masterName) throw new Error('TOLLGATE_REDIS_URL: a Sentinel URL names the master after the hosts: redis+sentinel://host1:26379,host2:26379/mymaster[/db]');
      return { kind: 'sentinel', sentinels: parseHosts(hostList, 26379), masterName: decodeURIComponent(masterName), db: dbPart ? parseDb(dbPart) : 0, ...auth };
    }
    case 'redis+cluster':
    case 'rediss+cluster':
      if (path !== '') throw new Error('TOLLGATE_REDIS_URL: Redis Cluster has no databases; drop the path after the hosts');
      return { kind: 'cluster', nodes: parseHosts(hostList, 6379), tls: scheme === 'rediss+cluster', ...auth };
    default:
      throw new Error(`TOLLGATE_REDIS_URL: unknown scheme "${scheme}:": use redis, rediss, redis+sentinel or redis+cluster`);
  }
}

function parseUserinfo(userinfo: string | undefined): { username?: string; password?: string } {
  if (!userinfo) return {};
  const i = userinfo.indexOf(':');
  if (i < 0) return { password: decodeURIComponent(userinfo) };
  const username = decodeURIComponent(userinfo.slice(0, i));
  return { ...(username ? { username } : {}), password: decodeURIComponent(userinfo.slice(i + 1)) };
}

function parseDb(s: string): number {
  if (!/^\d{1,2}$/.test(s)) throw new Error(`TOLLGATE_REDIS_URL: the database must be a number 0-15, got "${s}"`);
  return Number(s);
}

function parseHosts(list: string, defaultPort: number): Array<{ host: string; port: number }> {
  const out = list.split(',').filter((h) => h !== '').map((h) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(h);
    if (!m) throw new Error(`TOLLGATE_REDIS_URL: "${h}" is not host[:port]`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
  });
  if (out.length === 0) throw new Error('TOLLGATE_REDIS_URL names no host');
  return out;
}

/** Where Redis is, for messages and /readyz: hosts only, never credentials. */
export function describeTarget(t: RedisTarget): string {
  if (t.kind === 'standalone') return t.url.replace(/\/\/[^@/]*@/, '//');
  if (t.kind === 'sentinel') return `sentinel ${t.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} master ${t.masterName}`;
  return `cluster ${t.nodes.map((s) => `${s.host}:${s.port}`).join(',')}`;
}

// Fail fast instead of queueing: a Check never waits on Redis, and a PUT answers 503 within a second.
const COMMON: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 2000,
  lazyConnect: true,
  retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
};

/** A new client (not yet connected: call `connect()`); `duplicate()` it for pub/sub. */
export function createRedisClient(target: RedisTarget, overrides: RedisOptions = {}): RedisClient {
  if (target.kind === 'standalone') return new Redis(target.url, { ...COMMON, ...overrides });
  if (target.kind === 'sentinel') {
    return new Redis({ ...COMMON, sentinels: target.sentinels, name: target.masterName, db: target.db, username: target.username, password: target.password, sentinelRetryStrategy: (times) => Math.min(100 * times, 1000), ...overrides });
  }
  const options: ClusterOptions = {
    enableOfflineQueue: false,
    lazyConnect: true,
    clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    redisOptions: { ...COMMON, username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}), ...overrides },
  };
  return new Cluster(target.nodes, options);
}

/**
 * Key names. Every key of one concern shares a hash tag (`{tollgate}` for policy, fleet and alerts,
 * `{tollgate:inv:edges}` per inventory table), so multi-key scripts and pipelines stay in one Cluster slot.
 */
export class RedisKeys {
  /** `tollgate:` → `tollgate`: the tag inside the braces (the audit keys of src/store/redis/audit-keys.ts take the same). */
  readonly base: string;

  constructor(prefix = 'tollgate:') {
    this.base = prefix.replace(/:+$/, '') || 'tollgate';
  }

  private tagged(tag: string, rest: string): string {
    return `{${tag}}:${rest}`;
  }

  /** Hash: version, text, sha256, sourceSha256, updatedAt of the current policy. */
  get policyDoc(): string {
    return this.tagged(this.base, 'policy:doc');
  }

  /** Random id written once per Redis lifetime: a different or missing one means Redis came back empty. */
  get generation(): string {
    return this.tagged(this.base, 'generation');
  }

  /** Pub/sub channel: the new version number after every write. */
  get policyChannel(): string {
    return this.tagged(this.base, 'policy:changed');
  }

  /** Hash per replica of its xDS node status (JSON), refreshed with a TTL heartbeat. */
  xdsReplica(replicaId: string): string {
    return this.tagged(this.base, `xds:replica:${replicaId}`);
  }

  /** Sorted set: replica id → last heartbeat (ms), to find the live replicas' hashes. */
  get xdsReplicas(): string {
    return this.tagged(this.base, 'xds:replicas');
  }

  /** String with PX: set NX by the replica that raises (rule, key) first in the fleet. */
  alertDedup(rule: string, key: string): string {
    return this.tagged(this.base, `alerts:dedup:${rule}:${key}`);
  }

  /** Hash per rule: learning-period start (ms) set once for the fleet. */
  get alertLearningStart(): string {
    return this.tagged(this.base, 'alerts:learning-start');
  }

  /** Set per rule of identity|destination pairs seen by any replica. */
  alertSeen(ruleStateKey: string): string {
    return this.tagged(this.base, `alerts:seen:${ruleStateKey}`);
  }

  /** Lists of alert records (JSON), newest first, trimmed: the fleet's history and dead letters. */
  get alertHistory(): string {
    return this.tagged(this.base, 'alerts:history');
  }

  /** Hash per sink: the fleet's rate-limit bucket (tokens, last refill in ms). */
  alertBucket(sink: string): string {
    return this.tagged(this.base, `alerts:bucket:${sink}`);
  }

  get alertDeadLetters(): string {
    return this.tagged(this.base, 'alerts:dead-letters');
  }

  /** Inventory, one hash tag per table: record hashes, the lexicographic key index, first/last-seen sorted sets. */
  inventoryRecord(table: string, key: string): string {
    return this.tagged(`${this.base}:inv:${table}`, `rec:${key}`);
  }

  inventoryKeys(table: string): string {
    return this.tagged(`${this.base}:inv:${table}`, 'keys');
  }

  inventoryFirstSeen(table: string): string {
    return this.tagged(`${this.base}:inv:${table}`, 'first');
  }

  inventoryLastSeen(table: string): string {
    return this.tagged(`${this.base}:inv:${table}`, 'last');
  }

  inventorySet(table: string, key: string, set: string): string {
    return this.tagged(`${this.base}:inv:${table}`, `set:${set}:${key}`);
  }
}

/** Resolves once the client is ready; rejects after `timeoutMs` with where it tried (no credentials). */
export async function connectRedis(client: RedisClient, where: string, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let lastError: string | undefined;
  const onError = (err: Error) => (lastError = err.message);
  client.on('error', onError);
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis at ${where} did not become ready within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    throw new Error(`cannot connect to Redis at ${where}: ${lastError ?? (err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}
