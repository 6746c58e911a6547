import { DDSketch } from '../../inventory/sketch.js';
import type { RedisConnection } from '../../redis/connection.js';
import { INVENTORY_TABLES, MAX_SET_MEMBERS, type InventoryRecord, type InventoryStore, type InventoryTable, type RecordDelta, type ScanOptions, type ScanPage } from '../inventory-store.js';
import { DEFAULT_MAX_RECORDS } from '../embedded/inventory-store.js';

/*
 * One record = one hash: `c:<counter>` (HINCRBY), `m:<set>:<member>` + `n:<set>` (bounded set),
 * `k:<sketch>:{alpha,count,zero,min,max}` and `k:<sketch>:b:<bin>` (HINCRBY). The table's `keys` sorted
 * set (all scores 0) is the lexicographic index, `first`/`last` hold first/last seen (ZADD LT/GT), and
 * `last` is also the eviction order. One script call per delta keeps each record's update atomic.
 */
const APPLY_SCRIPT = `
local d = cjson.decode(ARGV[3])
local rec, key, at = KEYS[1], ARGV[1], ARGV[2]
redis.call('ZADD', KEYS[2], 0, key)
redis.call('ZADD', KEYS[3], 'LT', at, key)
redis.call('ZADD', KEYS[4], 'GT', at, key)
if d.c then for name, n in pairs(d.c) do
  if n == math.floor(n) then redis.call('HINCRBY', rec, 'c:' .. name, n) else redis.call('HINCRBYFLOAT', rec, 'c:' .. name, n) end
end end
if d.s then for name, members in pairs(d.s) do
  for _, m in ipairs(members) do
    if tonumber(redis.call('HGET', rec, 'n:' .. name) or '0') >= tonumber(ARGV[4]) then break end
    if redis.call('HSETNX', rec, 'm:' .. name .. ':' .. m, 1) == 1 then redis.call('HINCRBY', rec, 'n:' .. name, 1) end
  end
end end
if d.k then for name, s in pairs(d.k) do
  local p = 'k:' .. name .. ':'
  redis.call('HSET', rec, p .. 'alpha', s.alpha)
  redis.call('HINCRBY', rec, p .. 'count', s.count)
  redis.call('HINCRBY', rec, p .. 'zero', s.zero)
  local mn = tonumber(redis.call('HGET', rec, p .. 'min'))
  if not mn or s.min < mn then redis.call('HSET', rec, p .. 'min', s.min) end
  local mx = tonumber(redis.call('HGET', rec, p .. 'max'))
  if not mx or s.max > mx then redis.call('HSET', rec, p .. 'max', s.max) end
  for i, b in ipairs(s.bins) do redis.call('HINCRBY', rec, p .. 'b:' .. b, s.counts[i]) end
end end
local evicted = 0
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[5]) do
  local old = redis.call('ZPOPMIN', KEYS[4])
  if #old == 0 then break end
  redis.call('ZREM', KEYS[2], old[1])
  redis.call('ZREM', KEYS[3], old[1])
  redis.call('DEL', ARGV[6] .. old[1])
  evicted = evicted + 1
end
return evicted
`;

export interface RedisInventoryStoreOptions {
  /** How often merged deltas are written (default 250 ms): a replica killed with -9 loses at most this interval's deltas. */
  flushMs?: number;
  /** Keys kept in memory per table while Redis is down; beyond it new keys are dropped and counted (default 50,000). */
  maxPendingKeys?: number;
  maxRecords?: Partial<Record<InventoryTable, number>>;
  onError?: (err: unknown) => void;
  /** Deltas that could not be kept while Redis was down (bounded memory). */
  onDrop?: (table: InventoryTable, keys: number) => void;
}

interface Pending {
  first: number;
  last: number;
  counters: Record<string, number>;
  sets: Record<string, Set<string>>;
  sketches: Record<string, DDSketch>;
}

/**
 * The fleet's inventory on Redis: every replica folds its own events into deltas, merges them in memory
 * and pipelines them every `flushMs`; all merges commute, so the order replicas flush in does not matter.
 * While Redis is down the merged deltas wait in memory (bounded) and are written when it returns.
 */
export class RedisInventoryStore implements InventoryStore {
  private readonly pending = new Map<InventoryTable, Map<string, Pending>>(INVENTORY_TABLES.map((t) => [t, new Map()]));
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly offReconnect: () => void;
  dropped = 0;

  constructor(
    private readonly conn: RedisConnection,
    private readonly opts: RedisInventoryStoreOptions = {},
  ) {
    this.timer = setInterval(() => {
      if (conn.up && this.pendingKeys() > 0) void this.flush().catch((err: unknown) => opts.onError?.(err));
    }, opts.flushMs ?? 250);
    this.timer.unref();
    this.offReconnect = conn.onReconnect(() => void this.flush().catch((err: unknown) => opts.onError?.(err)));
  }

  async apply(table: InventoryTable, deltas: readonly RecordDelta[]): Promise<void> {
    const map = this.pending.get(table)!;
    const max = this.opts.maxPendingKeys ?? 50_000;
    let dropped = 0;
    for (const d of deltas) {
      let p = map.get(d.key);
      if (!p) {
        if (map.size >= max) {
          dropped++;
          continue;
        }
        map.set(d.key, (p = { first: d.at, last: d.at, counters: {}, sets: {}, sketches: {} }));
      }
      mergeDelta(p, d);
    }
    if (dropped > 0) {
      this.dropped += dropped;
      this.opts.onDrop?.(table, dropped);
    }
  }

  async get(table: InventoryTable, key: string): Promise<InventoryRecord | undefined> {
    if (!this.conn.up) throw this.conn.unavailable();
    await this.flushIfUp();
    const h = await this.conn.client.hgetall(this.conn.keys.inventoryRecord(table, key));
    const [first, last] = await Promise.all([this.conn.client.zscore(this.conn.keys.inventoryFirstSeen(table), key), this.conn.client.zscore(this.conn.keys.inventoryLastSeen(table), key)]);
    if (first === null || last === null) return undefined;
    return toRecord(key, Number(first), Number(last), h);
  }

  async scan(table: InventoryTable, opts: ScanOptions): Promise<ScanPage> {
    if (!this.conn.up) throw this.conn.unavailable();
    await this.flushIfUp();
    const k = this.conn.keys;
    const min = opts.after !== undefined ? `(${opts.after}` : opts.prefix !== undefined ? `[${opts.prefix}` : '-';
    const keys = await this.conn.client.zrangebylex(k.inventoryKeys(table), min, '+', 'LIMIT', 0, opts.limit + 1);
    const inRange = opts.prefix === undefined ? keys : keys.filter((key) => key.startsWith(opts.prefix!));
    const page = inRange.slice(0, opts.limit);
    if (page.length === 0) return { records: [] };
    const pipe = this.conn.client.pipeline();
    for (const key of page) {
      pipe.hgetall(k.inventoryRecord(table, key));
      pipe.zscore(k.inventoryFirstSeen(table), key);
      pipe.zscore(k.inventoryLastSeen(table), key);
    }
    const res = (await pipe.exec()) ?? [];
    const records: InventoryRecord[] = [];
    page.forEach((key, i) => {
      const [e1, h] = res[3 * i]!;
      const [, first] = res[3 * i + 1]!;
      const [, last] = res[3 * i + 2]!;
      if (e1) throw e1;
      if (first === null || last === null) return; // evicted between the index read and this one
      records.push(toRecord(key, Number(first), Number(last), h as Record<string, string>));
    });
    return inRange.length > opts.limit ? { records, next: page[page.length - 1] } : { records };
  }

  async size(table: InventoryTable): Promise<number> {
    if (!this.conn.up) throw this.conn.unavailable();
    return this.conn.client.zcard(this.conn.keys.inventoryKeys(table));
  }

  /** Writes every merged delta; on failure they go back into the in-memory buffer for the next try. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.writePending());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.offReconnect();
    if (this.conn.up) await this.flush().catch((err: unknown) => this.opts.onError?.(err));
  }

  pendingKeys(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }

  private async flushIfUp(): Promise<void> {
    if (this.conn.up && this.pendingKeys() > 0) await this.flush();
  }

  private async writePending(): Promise<void> {
    if (this.pendingKeys() === 0) return;
    if (!this.conn.up) throw this.conn.unavailable();
    const taken = new Map<InventoryTable, Map<string, Pending>>();
    for (const t of INVENTORY_TABLES) {
      taken.set(t, this.pending.get(t)!);
      this.pending.set(t, new Map());
    }
    const k = this.conn.keys;
    // One pipeline per table: a table's keys share a hash tag, so on a Cluster each pipeline goes to one node.
    const runs: Array<Promise<Array<[Error | null, unknown]> | null>> = [];
    for (const [table, map] of taken) {
      if (map.size === 0) continue;
      const pipe = this.conn.client.pipeline();
      const max = this.opts.maxRecords?.[table] ?? DEFAULT_MAX_RECORDS[table];
      const recPrefix = k.inventoryRecord(table, '');
      for (const [key, p] of map) {
        const args = [MAX_SET_MEMBERS, max, recPrefix];
        const keys = [k.inventoryRecord(table, key), k.inventoryKeys(table), k.inventoryFirstSeen(table), k.inventoryLastSeen(table)];
        // The first-seen time goes first alone, then the last with the merged changes: ZADD LT/GT see both.
        if (p.first < p.last) pipe.eval(APPLY_SCRIPT, 4, ...keys, key, p.first, '{}', ...args);
        pipe.eval(APPLY_SCRIPT, 4, ...keys, key, p.last, encode(p), ...args);
      }
      runs.push(pipe.exec());
    }
    const settled = await Promise.allSettled(runs);
    const tables = [...taken.keys()].filter((t) => taken.get(t)!.size > 0);
    let firstError: unknown;
    settled.forEach((r, i) => {
      const table = tables[i]!;
      // A script either ran whole or not at all; a table whose every script failed (connection lost) is retried, a partial one is not (it would double count).
      const results = r.status === 'fulfilled' ? (r.value ?? []) : undefined;
      const failed = results ? results.find(([e]) => e)?.[0] : r.status === 'rejected' ? r.reason : undefined;
      if (!results || (results.length > 0 && results.every(([e]) => e))) this.restore(new Map([[table, taken.get(table)!]]));
      firstError ??= failed;
    });
    if (firstError) throw firstError;
  }

  private restore(taken: Map<InventoryTable, Map<string, Pending>>): void {
    for (const [table, map] of taken) {
      const now = this.pending.get(table)!;
      for (const [key, p] of map) {
        const have = now.get(key);
        if (!have) now.set(key, p);
        else mergePending(have, p);
      }
    }
  }
}

function mergeDelta(p: Pending, d: RecordDelta): void {
  if (d.at < p.first) p.first = d.at;
  if (d.at > p.last) p.last = d.at;
  if (d.counters) for (const name in d.counters) p.counters[name] = (p.counters[name] ?? 0) + d.counters[name]!;
  if (d.sets) {
    for (const name in d.sets) {
      const set = (p.sets[name] ??= new Set());
      for (const m of d.sets[name]!) if (set.size < MAX_SET_MEMBERS) set.add(m);
    }
  }
  if (d.sketches) {
    for (const name in d.sketches) {
      const s = d.sketches[name]!;
      const have = (p.sketches[name] ??= new DDSketch(s.alpha));
      have.merge(s);
    }
  }
}

function mergePending(into: Pending, from: Pending): void {
  mergeDelta(into, { key: '', at: from.first, counters: from.counters, sets: Object.fromEntries(Object.entries(from.sets).map(([n, s]) => [n, [...s]])), sketches: from.sketches });
  if (from.last > into.last) into.last = from.last;
}

function encode(p: Pending): string {
  const out: { c?: Record<string, number>; s?: Record<string, string[]>; k?: Record<string, unknown> } = {};
  if (Object.keys(p.counters).length > 0) out.c = p.counters;
  if (Object.keys(p.sets).length > 0) out.s = Object.fromEntries(Object.entries(p.sets).map(([n, s]) => [n, [...s]]));
  if (Object.keys(p.sketches).length > 0) out.k = Object.fromEntries(Object.entries(p.sketches).map(([n, s]) => [n, s.toJSON()]));
  return JSON.stringify(out);
}

function toRecord(key: string, firstSeen: number, lastSeen: number, h: Record<string, string>): InventoryRecord {
  const counters: Record<string, number> = {};
  const sets: Record<string, string[]> = {};
  const sketchFields: Record<string, { alpha: number; count: number; zero: number; min: number; max: number; bins: Map<number, number> }> = {};
  for (const field in h) {
    const v = h[field]!;
    if (field.startsWith('c:')) counters[field.slice(2)] = Number(v);
    else if (field.startsWith('m:')) {
      const rest = field.slice(2);
      const i = rest.indexOf(':');
      (sets[rest.slice(0, i)] ??= []).push(rest.slice(i + 1));
    } else if (field.startsWith('k:')) {
      const rest = field.slice(2);
      const i = rest.indexOf(':');
      const name = rest.slice(0, i);
      const part = rest.slice(i + 1);
      const s = (sketchFields[name] ??= { alpha: 0.01, count: 0, zero: 0, min: 0, max: 0, bins: new Map() });
      if (part.startsWith('b:')) s.bins.set(Number(part.slice(2)), Number(v));
      else if (part === 'alpha' || part === 'count' || part === 'zero' || part === 'min' || part === 'max') s[part] = Number(v);
    }
  }
  for (const name in sets) sets[name]!.sort();
  const sketches: Record<string, DDSketch> = {};
  for (const [name, s] of Object.entries(sketchFields)) {
    const bins = [...s.bins.keys()].sort((a, b) => a - b);
    sketches[name] = DDSketch.from({ alpha: s.alpha, count: s.count, zero: s.zero, min: s.min, max: s.max, bins, counts: bins.map((b) => s.bins.get(b)!) });
  }
  return { key, firstSeen, lastSeen, counters, sets, sketches };
}
