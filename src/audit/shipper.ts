import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { writeFileAtomic } from '../store/embedded/atomic-file.js';
import { auditKeys, dayOf, replicasKey, seqOfId, type AuditKeys } from '../store/redis/audit-keys.js';
import { LocalAuditReader, type LocalBatch } from '../store/redis/audit-local-reader.js';
import { SHIP_SCRIPT } from '../store/redis/audit-ship-script.js';

/** What the shipper needs of the local store: where its segments are and the last durable seq. */
export interface LocalAuditLog {
  readonly dir: string;
  stats(): { last_seq: number };
}

export interface AuditShipperOptions {
  redis: Redis | Cluster;
  local: LocalAuditLog;
  replica: string;
  /** Key prefix (default `tollgate`). */
  prefix?: string;
  /** Records per script call (default 500) and its size bound (default 1 MiB). */
  batchRecords?: number;
  batchBytes?: number;
  /** Script calls in flight at once (default 8): each is sent as soon as its batch is read. */
  pipelineBatches?: number;
  /** How often to look for new local records while idle (default 100 ms). */
  pollMs?: number;
  /** Backoff after a failure: first delay, doubled up to the max, with jitter (defaults 100 ms, 10 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Shipping counts as stuck (status `stuck`, /readyz degraded) once it has failed for this long (default 5 s). */
  stuckAfterMs?: number;
  /** Trimming: keep at least this many days / records in Redis even after the replica's own retention dropped them. */
  keepDays?: number;
  keepRecords?: number;
  /** How often this replica trims its streams (default 60 s; 0: never). */
  trimEveryMs?: number;
  onWarn?: (message: string) => void;
  /** Called when the state changes between `ok` and `stuck`. */
  onStatus?: (status: AuditShipperStatus) => void;
  now?: () => number;
}

export interface AuditShipperStatus {
  state: 'ok' | 'stuck';
  replica: string;
  /** Last seq Redis holds for this replica, and the last durable local seq. */
  shipped_seq: number;
  local_seq: number;
  failing_since?: string;
  last_error?: string;
  /** Times Redis was found to have lost this replica's records (restarted empty, failover) and they were re-shipped. */
  reships: number;
  shipped: number;
  duplicates: number;
  /** Local records retention removed before they could be shipped. */
  gap_records: number;
}

interface LocalCursor {
  replica: string;
  gen: string;
  seq: number;
}

type ShipReply = [string, string?, string?, string?];
type ShipCommand = (...args: Array<string | number>) => Promise<ShipReply>;

class ShipRefused extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`Redis refused the audit batch: ${code} ${detail}`);
  }
}

/**
 * The replica id this data directory's chain ships under: the one it first shipped with (kept in `audit-ship.json`),
 * else `configured`. A chain must keep its streams across restarts, or a restarted replica would ship it all again
 * under a new name (the default replica id changes with the process id).
 */
export async function auditReplicaId(local: Pick<LocalAuditLog, 'dir'>, configured: string): Promise<string> {
  try {
    const c = JSON.parse(await readFile(join(dirname(local.dir), 'audit-ship.json'), 'utf8')) as Partial<LocalCursor>;
    if (typeof c.replica === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(c.replica)) return c.replica;
  } catch {
    // Never shipped from here.
  }
  return configured;
}

/**
 * Ships a replica's local audit log to Redis Streams, in chain order and idempotently. The local segments stay the
 * durable record; Redis holds a copy for the fleet view (`/v1/audit` on any replica) that may be lost at any time and
 * is rebuilt from the segments. A batch is one Lua call (streams and cursor updated atomically), several are
 * pipelined; each names the seq it follows, so a batch applies only in order, and stream ids are chain positions, so
 * a re-send is a no-op. The cursor lives in Redis (exact) and in `<dataDir>/audit-ship.json` (its generation).
 */
export class AuditShipper {
  private readonly keys: AuditKeys;
  private readonly reader: LocalAuditReader;
  private readonly cursorFile: string;
  private readonly o: Required<Pick<AuditShipperOptions, 'batchRecords' | 'batchBytes' | 'pipelineBatches' | 'pollMs' | 'retryBaseMs' | 'retryMaxMs' | 'stuckAfterMs' | 'trimEveryMs'>>;
  private readonly now: () => number;
  private readonly warn: (m: string) => void;
  private gen = '';
  private mode: 'init' | 'next' = 'init';
  /** Seq of the last record Redis has acknowledged. */
  private shipped = 0;
  private synced = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private attempt = 0;
  private failing: { since: number; error: string } | undefined;
  private stuck = false;
  private lastTrim = 0;
  private lastLocalSave = 0;
  private savedSeq = -1;
  private readonly counters = { reships: 0, shipped: 0, duplicates: 0, gap_records: 0 };
  private readonly ship: ShipCommand;

  constructor(private readonly opts: AuditShipperOptions) {
    this.keys = auditKeys(opts.prefix ?? 'tollgate', opts.replica);
    this.reader = new LocalAuditReader(opts.local.dir);
    this.cursorFile = join(dirname(opts.local.dir), 'audit-ship.json');
    this.o = {
      batchRecords: opts.batchRecords ?? 500,
      batchBytes: opts.batchBytes ?? 1 << 20,
      pipelineBatches: opts.pipelineBatches ?? 8,
      pollMs: opts.pollMs ?? 100,
      retryBaseMs: opts.retryBaseMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 10_000,
      stuckAfterMs: opts.stuckAfterMs ?? 5000,
      trimEveryMs: opts.trimEveryMs ?? 60_000,
    };
    this.now = opts.now ?? Date.now;
    this.warn = opts.onWarn ?? (() => undefined);
    const redis = opts.redis as Redis & { tollgateAuditShip?: ShipCommand };
    if (!redis.tollgateAuditShip) redis.defineCommand('tollgateAuditShip', { lua: SHIP_SCRIPT });
    this.ship = (...args) => (opts.redis as unknown as { tollgateAuditShip: ShipCommand }).tollgateAuditShip(...args);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Looks for new local records now instead of at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  /** Ships everything durable now (for tests and shutdown); rejects when Redis refuses or is unreachable. */
  async drain(): Promise<void> {
    try {
      if (!this.synced) await this.sync();
      while ((await this.shipOnce()) > 0);
      await this.saveLocal(true);
    } catch (err) {
      this.failed(err);
      throw err;
    }
    this.recovered();
  }

  status(): AuditShipperStatus {
    return {
      state: this.stuck || (this.failing !== undefined && this.now() - this.failing.since >= this.o.stuckAfterMs) ? 'stuck' : 'ok',
      replica: this.keys.replica,
      shipped_seq: this.shipped,
      local_seq: this.opts.local.stats().last_seq,
      ...(this.failing ? { failing_since: new Date(this.failing.since).toISOString(), last_error: this.failing.error } : {}),
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    await this.saveLocal(true).catch((err: Error) => this.warn(`audit shipper: could not save its cursor: ${err.message}`));
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let shipped = 0;
      try {
        if (!this.synced) await this.sync();
        shipped = await this.shipOnce();
        if (this.o.trimEveryMs > 0 && this.now() - this.lastTrim >= this.o.trimEveryMs) {
          this.lastTrim = this.now();
          await this.trim();
        }
        await this.saveLocal(false);
        this.recovered();
      } catch (err) {
        this.failed(err);
        await this.sleep(Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** this.attempt++) * (0.5 + Math.random() / 2));
        continue;
      }
      if (shipped === 0) await this.sleep(this.o.pollMs);
    }
  }

  /** Where to resume: Redis's cursor when it is of our generation, else everything still held locally, afresh. */
  private async sync(): Promise<void> {
    const local = await this.loadLocal();
    const cur = await this.opts.redis.hgetall(this.keys.cursor);
    await this.opts.redis.sadd(replicasKey(this.opts.prefix ?? 'tollgate'), this.keys.replica);
    const knownGen = this.gen || local?.gen || cur.gen;
    const before = Math.max(this.shipped, local && local.gen === knownGen ? local.seq : 0);
    if (cur.gen && cur.gen === knownGen) {
      await this.checkSameChain(Number(cur.seq ?? 0), cur.hash ?? '');
      this.gen = cur.gen;
      this.mode = 'next';
      this.shipped = Number(cur.seq ?? 0);
      if (before > this.shipped) {
        this.counters.reships++;
        this.warn(`audit shipper: Redis holds this replica's records up to seq ${this.shipped} but ${before} had been shipped (writes lost in a failover?); re-shipping from there`);
      }
    } else {
      if (before > 0) {
        this.counters.reships++;
        this.warn(`audit shipper: Redis no longer holds this replica's shipping cursor (restarted empty?); re-shipping every record still held locally`);
      }
      this.gen = randomBytes(8).toString('hex');
      this.mode = 'init';
      this.shipped = 0;
    }
    this.reader.seek(this.shipped + 1);
    this.synced = true;
  }

  /**
   * Redis's cursor must point into this data directory's chain: a replica id reused for another data directory (or a
   * replaced one) would otherwise append a different chain behind the shipped one.
   */
  private async checkSameChain(seq: number, hash: string): Promise<void> {
    if (seq === 0) return;
    const durable = this.opts.local.stats().last_seq;
    let mine: string | undefined;
    if (durable >= seq) {
      const r = new LocalAuditReader(this.opts.local.dir);
      r.seek(seq);
      const rec = (await r.read(seq, 1, 1 << 20)).records[0];
      // Retention removed it: nothing left to compare, the chain goes on from newer records.
      if (rec?.seq !== seq) return;
      mine = rec.hash;
    }
    if (mine === hash) return;
    throw new ShipRefused(
      'FORK',
      `replica ${this.keys.replica} shipped seq ${seq} with hash ${hash.slice(0, 16)}…, but this data directory ${mine ? `holds a different record there (${mine.slice(0, 16)}…)` : `ends at seq ${durable}`}: another chain uses this replica id (a replaced data directory?); shipping stops, give this replica its own TOLLGATE_REPLICA_ID`,
    );
  }

  /** Reads and ships up to one pipeline of batches; returns how many records went out. */
  private async shipOnce(): Promise<number> {
    const durable = this.opts.local.stats().last_seq;
    if (this.reader.position > durable) return 0;
    const low = (await this.reader.lowestSeq()) ?? this.shipped + 1;
    // Each batch is sent as soon as it is read, so Redis runs one while the next is read (several in flight).
    const batches: LocalBatch[] = [];
    const replies: Array<Promise<[Error | null, ShipReply | undefined]>> = [];
    let prev = this.shipped;
    for (let i = 0; i < this.o.pipelineBatches; i++) {
      const b = await this.reader.read(durable, this.o.batchRecords, this.o.batchBytes);
      for (const g of b.gaps) {
        this.counters.gap_records += g.to - g.from + 1;
        this.warn(`audit shipper: seq ${g.from}..${g.to} are no longer held locally and were never shipped (retention or recovery removed them)`);
      }
      if (b.records.length === 0) break;
      batches.push(b);
      const args = this.batchArgs(b, prev, low, i === 0 ? this.mode : 'next');
      replies.push(this.ship(...args).then((r) => [null, r] as [null, ShipReply], (err: Error) => [err, undefined] as [Error, undefined]));
      prev = b.records.at(-1)!.seq;
    }
    if (batches.length === 0) return 0;
    const settled = await Promise.all(replies);
    let sent = 0;
    for (const [i, b] of batches.entries()) {
      const [err, reply] = settled[i]!;
      if (err) {
        this.synced = false;
        throw err;
      }
      const r = reply as ShipReply;
      if (r[0] !== 'OK') {
        this.synced = false;
        if (r[0] === 'FORK') {
          throw new ShipRefused('FORK', `seq ${r[1]}: Redis holds a different record at this chain position (the local log was rewritten after shipping); shipping stops, run tollgate audit verify on both`);
        }
        if (r[0] === 'NOGEN' || r[0] === 'GEN' || r[0] === 'BEHIND') {
          // Redis lost what we shipped (restarted empty, or a failover dropped recent writes): resync and re-ship.
          this.warn(`audit shipper: Redis answered ${r[0]} ${r[1] ?? ''}: re-reading its cursor and re-shipping`);
          return sent;
        }
        throw new ShipRefused(r[0], r[1] ?? '');
      }
      this.mode = 'next';
      this.shipped = b.records.at(-1)!.seq;
      this.counters.shipped += Number(r[1]);
      this.counters.duplicates += Number(r[2]);
      sent += b.records.length;
    }
    return sent;
  }

  private batchArgs(b: LocalBatch, prev: number, low: number, mode: 'init' | 'next'): Array<string | number> {
    const days: string[] = [];
    const dayIndex = new Map<string, number>();
    const recs: Array<string | number> = [];
    for (const r of b.records) {
      const day = dayOf(r.time) ?? '19700101';
      let idx = dayIndex.get(day);
      if (idx === undefined) {
        days.push(day);
        idx = days.length;
        dayIndex.set(day, idx);
      }
      recs.push(idx, r.seq, r.hash, r.segment, r.line);
    }
    const headers = b.headers.flatMap(([first, text]) => [first, text]);
    return [
      3 + days.length,
      this.keys.cursor,
      this.keys.days,
      this.keys.segments,
      ...days.map((d) => this.keys.stream(d)),
      this.gen,
      mode,
      prev,
      low,
      this.now(),
      b.headers.length,
      ...headers,
      ...days,
      ...recs,
    ];
  }

  /**
   * Trims this replica's streams behind the oldest record it still holds locally (so the fleet view never loses a record
   * a replica could still show), or further back when `keepDays`/`keepRecords` ask Redis to keep more.
   */
  async trim(): Promise<number> {
    const low = await this.reader.lowestSeq();
    if (low === undefined) return 0;
    const redis = this.opts.redis;
    const days = await redis.zrange(this.keys.days, 0, -1);
    let point = low;
    if (this.opts.keepRecords !== undefined) point = Math.min(point, Math.max(1, this.shipped - this.opts.keepRecords + 1));
    if (this.opts.keepDays !== undefined) {
      const cutoff = new Date(this.now() - this.opts.keepDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
      for (const d of days.filter((x) => x >= cutoff)) {
        const first = await redis.xrange(this.keys.stream(d), '-', '+', 'COUNT', 1);
        if (first[0]) point = Math.min(point, seqOfId(first[0][0]));
      }
    }
    let removed = 0;
    const today = new Date(this.now()).toISOString().slice(0, 10).replaceAll('-', '');
    for (const d of days) {
      const key = this.keys.stream(d);
      removed += Number(await redis.xtrim(key, 'MINID', `${point}-0`));
      if (d < today && (await redis.xlen(key)) === 0) {
        await redis.del(key);
        await redis.zrem(this.keys.days, d);
      }
    }
    return removed;
  }

  private async loadLocal(): Promise<LocalCursor | undefined> {
    try {
      const c = JSON.parse(await readFile(this.cursorFile, 'utf8')) as Partial<LocalCursor>;
      if (c.replica === this.keys.replica && typeof c.gen === 'string' && Number.isSafeInteger(c.seq)) return c as LocalCursor;
    } catch {
      // Missing or unreadable: Redis's cursor decides.
    }
    return undefined;
  }

  private async saveLocal(force: boolean): Promise<void> {
    if (!this.gen || this.savedSeq === this.shipped) return;
    if (!force && this.now() - this.lastLocalSave < 1000) return;
    this.lastLocalSave = this.now();
    await writeFileAtomic(this.cursorFile, `${JSON.stringify({ replica: this.keys.replica, gen: this.gen, seq: this.shipped } satisfies LocalCursor)}\n`);
    this.savedSeq = this.shipped;
  }

  private failed(err: unknown): void {
    const message = (err as Error).message ?? String(err);
    this.failing ??= { since: this.now(), error: message };
    this.failing.error = message;
    if (!this.stuck && this.now() - this.failing.since >= this.o.stuckAfterMs) {
      this.stuck = true;
      this.warn(`audit shipping to Redis is stuck since ${new Date(this.failing.since).toISOString()}: ${message}; records stay in the local log`);
      this.opts.onStatus?.(this.status());
    }
    if (err instanceof ShipRefused && err.code === 'FORK' && !this.stuck) {
      this.stuck = true;
      this.warn(err.message);
      this.opts.onStatus?.(this.status());
    }
  }

  private recovered(): void {
    this.attempt = 0;
    if (!this.failing) return;
    this.failing = undefined;
    if (this.stuck) {
      this.stuck = false;
      this.opts.onStatus?.(this.status());
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
