import type { SharedAlertState } from '../../alerts/shared-state.js';
import type { AlertRecord } from '../../alerts/types.js';
import type { RedisConnection } from '../../redis/connection.js';

// Known-pair check and dedup in one step: two replicas seeing the same new pair at once raise it once.
const CLAIM_SCRIPT = `
if ARGV[2] ~= '' and redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[1]) then return 1 end
return 0
`;

// A token bucket on Redis's own clock, so replicas whose clocks differ still share one rate.
const TAKE_TOKEN_SCRIPT = `
local per_minute = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or per_minute
local at = tonumber(state[2]) or now
tokens = math.min(per_minute, tokens + (now - at) * per_minute / 60000)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 120000)
return ok
`;

export interface RedisAlertStateOptions {
  /** Records kept in the fleet's history and dead-letter lists (default 10,000 each). */
  historyLimit?: number;
  flushMs?: number;
  onError?: (err: unknown) => void;
}

/** Alert dedup (SET NX PX), learning sets (SADD) and start (HSETNX), history and dead letters (LPUSH + LTRIM) in Redis. */
export class RedisAlertState implements SharedAlertState {
  private learned = new Map<string, Set<string>>();
  private settled: Array<{ record: AlertRecord; dead: boolean }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly conn: RedisConnection,
    private readonly opts: RedisAlertStateOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush().catch((err: unknown) => opts.onError?.(err)), opts.flushMs ?? 250);
    this.timer.unref();
  }

  async claim(c: { rule: string; key: string; windowMs: number; seenSet?: string; pair?: string }): Promise<boolean> {
    if (!this.conn.up) throw this.conn.unavailable();
    const k = this.conn.keys;
    const seen = c.seenSet ? k.alertSeen(c.seenSet) : k.alertLearningStart;
    const r = await this.conn.client.eval(CLAIM_SCRIPT, 2, k.alertDedup(c.rule, c.key), seen, Math.max(1, Math.round(c.windowMs)), c.seenSet ? (c.pair ?? '') : '', this.conn.replicaId);
    return r === 1;
  }

  async takeToken(sink: string, perMinute: number): Promise<boolean> {
    if (!this.conn.up) throw this.conn.unavailable();
    return (await this.conn.client.eval(TAKE_TOKEN_SCRIPT, 1, this.conn.keys.alertBucket(sink), perMinute)) === 1;
  }

  learn(seenSet: string, pair: string): void {
    let set = this.learned.get(seenSet);
    if (!set) this.learned.set(seenSet, (set = new Set()));
    if (set.size < 100_000) set.add(pair);
  }

  async learningStart(ruleId: string, proposed: number): Promise<number> {
    const key = this.conn.keys.alertLearningStart;
    await this.conn.client.hsetnx(key, ruleId, proposed);
    return Number((await this.conn.client.hget(key, ruleId)) ?? proposed);
  }

  record(record: AlertRecord, deadLetter: boolean): void {
    if (this.settled.length < 10_000) this.settled.push({ record, dead: deadLetter });
  }

  async list(deadLetters: boolean, limit: number): Promise<AlertRecord[]> {
    const k = this.conn.keys;
    if (!this.conn.up) throw this.conn.unavailable();
    await this.flush();
    const rows = await this.conn.client.lrange(deadLetters ? k.alertDeadLetters : k.alertHistory, 0, Math.max(0, limit - 1));
    return rows.map((r) => JSON.parse(r) as AlertRecord);
  }

  /** Writes learned pairs and settled alerts; kept for the next try while Redis is down. */
  async flush(): Promise<void> {
    if (!this.conn.up || (this.learned.size === 0 && this.settled.length === 0)) return;
    const k = this.conn.keys;
    const learned = this.learned;
    const settled = this.settled;
    this.learned = new Map();
    this.settled = [];
    const limit = this.opts.historyLimit ?? 10_000;
    const pipe = this.conn.client.pipeline();
    for (const [set, pairs] of learned) pipe.sadd(k.alertSeen(set), ...pairs);
    for (const { record, dead } of settled) {
      const json = JSON.stringify(record);
      pipe.lpush(k.alertHistory, json).ltrim(k.alertHistory, 0, limit - 1);
      if (dead) pipe.lpush(k.alertDeadLetters, json).ltrim(k.alertDeadLetters, 0, limit - 1);
    }
    try {
      await pipe.exec();
    } catch (err) {
      for (const [set, pairs] of learned) for (const p of pairs) this.learn(set, p);
      this.settled.unshift(...settled);
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch((err: unknown) => this.opts.onError?.(err));
  }
}
