import type { Cluster, Redis } from 'ioredis';
import type { EgressEvent } from '../../events/types.js';
import { compileAuditFilter, compileLinePrefilter } from '../audit-filter.js';
import {
  InvalidCursorError,
  type AuditPage,
  type AuditQuery,
  type AuditQueryOptions,
  type AuditRecord,
  type AuditStore,
  type AuditVerifyReport,
} from '../audit-store.js';
import { auditKeys, dayStart, replicasKey, seqOfId } from './audit-keys.js';

export interface FleetAuditOptions {
  redis: Redis | Cluster;
  prefix?: string;
  /** This replica's own store: appends, local verification, and the answer while Redis is unreachable. */
  local: AuditStore;
  /** This replica's id, set on records answered from the local store. */
  replica: string;
}

/** A record in the fleet view: which replica wrote it (its chain is that replica's). */
export type FleetAuditRecord = AuditRecord & { replica: string };

type Entry = [id: string, fields: string[]];

const DAY_MS = 86_400_000;

/** One replica's stream for one day, read newest first in pages. */
class StreamReader {
  private buf: Entry[] = [];
  private exhausted = false;
  /** Inclusive upper bound of what is left to fetch (a seq), or undefined for the top of the stream. */
  private max: number | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    readonly replica: string,
    private readonly key: string,
    start: number | undefined,
    private readonly pageSize: number,
  ) {
    this.max = start;
    if (start !== undefined && start < 1) this.exhausted = true;
  }

  /** The newest entry not yet taken, fetching a page when needed. */
  async head(): Promise<Entry | undefined> {
    if (this.buf.length === 0 && !this.exhausted) {
      const page = (await this.redis.xrevrange(this.key, this.max === undefined ? '+' : `${this.max}-0`, '-', 'COUNT', this.pageSize)) as Entry[];
      if (page.length < this.pageSize) this.exhausted = true;
      if (page.length) this.max = seqOfId(page.at(-1)![0]) - 1;
      this.buf = page;
    }
    return this.buf[0];
  }

  take(): Entry {
    return this.buf.shift()!;
  }

  /** Where a later page resumes (inclusive seq); 0 when nothing is left. */
  position(): number {
    if (this.buf.length) return seqOfId(this.buf[0]![0]);
    return this.exhausted ? 0 : (this.max ?? Number.MAX_SAFE_INTEGER);
  }
}

/**
 * The fleet's audit log, read from every replica's Redis streams: newest first (merged by record time across
 * replicas), with the embedded store's filters. A cursor names the day reached and, per replica, the seq to go on
 * from in that day's stream; older days are read whole, newer days are done. Appends go to the local store only.
 */
export class FleetAuditStore implements AuditStore {
  private readonly prefix: string;
  private readonly closing = new AbortController();

  constructor(private readonly o: FleetAuditOptions) {
    this.prefix = o.prefix ?? 'tollgate';
  }

  append(events: readonly EgressEvent[]): Promise<void> {
    return this.o.local.append(events);
  }

  verify(): Promise<AuditVerifyReport> {
    return this.o.local.verify();
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('audit store is closing'));
  }

  async query(q: AuditQuery, opts: AuditQueryOptions = {}): Promise<AuditPage> {
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal;
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (cursor?.local) return this.localPage(q, cursor.local, opts);
    try {
      return await this.fleetPage(q, cursor, signal);
    } catch (err) {
      if (err instanceof InvalidCursorError || signal.aborted || cursor) throw err;
      // Redis unreachable: this replica's own records, said so, rather than no answer.
      return this.localPage(q, undefined, opts, (err as Error).message);
    }
  }

  private async localPage(q: AuditQuery, localCursor: string | undefined, opts: AuditQueryOptions, why?: string): Promise<AuditPage> {
    const page = await this.o.local.query({ ...q, ...(localCursor ? { cursor: localCursor } : { cursor: undefined }) }, opts);
    const out: AuditPage & { fleet: false; note?: string } = {
      records: page.records.map((r) => ({ ...r, replica: this.o.replica })),
      next_cursor: page.next_cursor ? encodeLocal(page.next_cursor) : null,
      fleet: false,
      ...(why ? { note: `fleet view unavailable (${why.slice(0, 200)}): records of replica ${this.o.replica} only` } : {}),
    };
    return out;
  }

  private async fleetPage(q: AuditQuery, cursor: FleetCursor | undefined, signal: AbortSignal): Promise<AuditPage> {
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 1000);
    const filter = compileAuditFilter(q);
    const prefilter = compileLinePrefilter(q);
    const redis = this.o.redis;
    const replicas = (await redis.smembers(replicasKey(this.prefix))).sort();
    const dayLists = await Promise.all(replicas.map((r) => redis.zrevrange(auditKeys(this.prefix, r).days, 0, -1)));
    const byDay = new Map<string, string[]>();
    for (const [i, r] of replicas.entries()) for (const d of dayLists[i]!) byDay.set(d, [...(byDay.get(d) ?? []), r]);
    const days = [...byDay.keys()]
      .filter((d) => !cursor || d <= cursor.day)
      .filter((d) => (q.since === undefined || dayStart(d) + DAY_MS > q.since) && (q.until === undefined || dayStart(d) < q.until))
      .sort()
      .reverse();
    const pageSize = Math.min(limit + 1, 500);
    const found: FleetAuditRecord[] = [];
    let next: FleetCursor | undefined;
    for (const day of days) {
      const readers = byDay.get(day)!.map((r) => {
        const start = cursor && cursor.day === day ? cursor.pos.get(r) : undefined;
        return new StreamReader(redis, r, auditKeys(this.prefix, r).stream(day), start, pageSize);
      });
      const heads = new Map<StreamReader, { entry: Entry; time: number; line: string }>();
      const fill = async (s: StreamReader) => {
        const e = await s.head();
        if (!e) return heads.delete(s);
        const line = fieldOf(e[1], 'r') ?? '';
        heads.set(s, { entry: e, time: timeOf(line), line });
        return true;
      };
      await Promise.all(readers.map(fill));
      while (heads.size > 0) {
        if (signal.aborted) throw signal.reason;
        let best: StreamReader | undefined;
        let bh: { entry: Entry; time: number; line: string } | undefined;
        for (const [s, h] of heads) {
          if (!bh || h.time > bh.time || (h.time === bh.time && s.replica < best!.replica)) {
            best = s;
            bh = h;
          }
        }
        best!.take();
        await fill(best!);
        if (prefilter && !prefilter(bh!.line)) continue;
        let rec: FleetAuditRecord;
        try {
          rec = { ...(JSON.parse(bh!.line) as AuditRecord), replica: best!.replica };
        } catch {
          continue;
        }
        if (!filter(rec)) continue;
        if (found.length === limit) {
          return { records: found, next_cursor: encodeCursor(next!) };
        }
        found.push(rec);
        if (found.length === limit) next = { day, pos: new Map(readers.map((s) => [s.replica, s.position()])) };
      }
    }
    return { records: found, next_cursor: null };
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function timeOf(line: string): number {
  const at = line.indexOf('"time":"');
  if (at === -1) return 0;
  const t = Date.parse(line.slice(at + 8, line.indexOf('"', at + 8)));
  return Number.isFinite(t) ? t : 0;
}

interface FleetCursor {
  day: string;
  /** Per replica: the seq to go on from (inclusive) in that day's stream; 0 when it is done. */
  pos: Map<string, number>;
  /** A cursor from a page answered by the local store while Redis was unreachable. */
  local?: string;
}

function encodeCursor(c: FleetCursor): string {
  return Buffer.from(`f1:${c.day}:${[...c.pos].map(([r, s]) => `${r}=${s}`).join(',')}`).toString('base64url');
}

function encodeLocal(cursor: string): string {
  return Buffer.from(`l1:${cursor}`).toString('base64url');
}

function decodeCursor(text: string): FleetCursor {
  const raw = Buffer.from(text, 'base64url').toString('utf8');
  if (raw.startsWith('l1:') && raw.length < 512) return { day: '', pos: new Map(), local: raw.slice(3) };
  const m = /^f1:(\d{8}):((?:[A-Za-z0-9._-]{1,64}=\d{1,16}(?:,|$))*)$/.exec(raw);
  if (!m) throw new InvalidCursorError('invalid cursor: pass next_cursor from the previous page unchanged');
  const pos = new Map<string, number>();
  for (const part of m[2] ? m[2].split(',').filter(Boolean) : []) {
    const eq = part.lastIndexOf('=');
    pos.set(part.slice(0, eq), Number(part.slice(eq + 1)));
  }
  return { day: m[1]!, pos };
}
