import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DDSketch, type SketchData } from '../../inventory/sketch.js';
import {
  INVENTORY_TABLES,
  MAX_SET_MEMBERS,
  type InventoryRecord,
  type InventoryStore,
  type InventoryTable,
  type RecordDelta,
  type ScanOptions,
  type ScanPage,
} from '../inventory-store.js';
import { writeFileAtomic } from './atomic-file.js';
import { quarantineFile, type Quarantined } from './quarantine.js';

export interface EmbeddedInventoryStoreOptions {
  /** Snapshot to `<dataDir>/inventory.json`; without it the inventory lives in memory only. */
  dataDir?: string;
  /** How often a changed inventory is snapshotted (default 30 s; 0 = only on flush/close). */
  snapshotIntervalMs?: number;
  /** Most records per table; beyond it the least recently seen record is evicted (edges default 200,000). */
  maxRecords?: Partial<Record<InventoryTable, number>>;
  onError?: (err: unknown) => void;
  /** Told when a corrupt snapshot was moved aside at open; the store then starts empty. */
  onQuarantine?: (q: Quarantined) => void;
  /** Told after every snapshot write: `undefined` when it succeeded (storage health). */
  onWrite?: (err: unknown) => void;
}

export const DEFAULT_MAX_RECORDS: Readonly<Record<InventoryTable, number>> = { edges: 200_000, tokens: 100_000, pii: 100_000 };

type SnapshotRow = [key: string, firstSeen: number, lastSeen: number, counters: Record<string, number>, sets: Record<string, string[]>, sketches: Record<string, SketchData>];
interface Snapshot {
  format: 'tollgate-inventory';
  version: 1;
  saved_at: string;
  tables: Partial<Record<InventoryTable, SnapshotRow[]>>;
}

// Most records never get a set or a sketch; they share these until their first one (saves ~100 bytes each).
const NO_SETS: Record<string, string[]> = Object.freeze({}) as Record<string, string[]>;
const NO_SKETCHES: Record<string, DDSketch> = Object.freeze({}) as Record<string, DDSketch>;

class Table {
  /** Map order is recency order: an update moves the record to the end, eviction takes from the front. */
  readonly records = new Map<string, InventoryRecord>();
  private sorted: string[] | undefined;
  evicted = 0;

  constructor(readonly max: number) {}

  apply(d: RecordDelta): void {
    let rec = this.records.get(d.key);
    if (rec) {
      this.records.delete(d.key);
      if (d.at < rec.firstSeen) rec.firstSeen = d.at;
      if (d.at > rec.lastSeen) rec.lastSeen = d.at;
    } else {
      rec = { key: d.key, firstSeen: d.at, lastSeen: d.at, counters: {}, sets: NO_SETS, sketches: NO_SKETCHES };
      this.sorted = undefined;
    }
    this.records.set(d.key, rec);
    if (d.counters) for (const name in d.counters) rec.counters[name] = (rec.counters[name] ?? 0) + d.counters[name]!;
    if (d.sets) {
      for (const name in d.sets) {
        if (rec.sets === NO_SETS) rec.sets = {};
        const set = (rec.sets[name] ??= []);
        for (const m of d.sets[name]!) if (set.length < MAX_SET_MEMBERS && !set.includes(m)) set.push(m);
      }
    }
    if (d.sketches) {
      for (const name in d.sketches) {
        if (rec.sketches === NO_SKETCHES) rec.sketches = {};
        const have = rec.sketches[name];
        if (have) have.merge(d.sketches[name]!);
        else {
          const s = new DDSketch(d.sketches[name]!.alpha);
          s.merge(d.sketches[name]!);
          rec.sketches[name] = s;
        }
      }
    }
    while (this.records.size > this.max) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
      this.sorted = undefined;
      this.evicted++;
    }
  }

  restore(rec: InventoryRecord): void {
    this.records.set(rec.key, rec);
    this.sorted = undefined;
    if (this.records.size > this.max) this.records.delete(this.records.keys().next().value as string);
  }

  scan(opts: ScanOptions): ScanPage {
    this.sorted ??= [...this.records.keys()].sort();
    const keys = this.sorted;
    const from = opts.after ?? opts.prefix ?? '';
    let i = lowerBound(keys, from);
    if (opts.after !== undefined && keys[i] === opts.after) i++;
    const records: InventoryRecord[] = [];
    for (; i < keys.length && records.length < opts.limit; i++) {
      const key = keys[i]!;
      if (opts.prefix !== undefined && !key.startsWith(opts.prefix)) return { records };
      records.push(this.records.get(key)!);
    }
    const more = i < keys.length && (opts.prefix === undefined || keys[i]!.startsWith(opts.prefix));
    return more ? { records, next: records[records.length - 1]!.key } : { records };
  }
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The single-process inventory store: maps in memory, snapshotted to `<dataDir>/inventory.json`
 * (atomic replace) when changed, every `snapshotIntervalMs` and on close, and loaded on open.
 * A crash loses at most one interval of counts; the audit log, not the inventory, is the record.
 */
export class EmbeddedInventoryStore implements InventoryStore {
  private readonly tables: Record<InventoryTable, Table>;
  private readonly path: string | undefined;
  private readonly onError: (err: unknown) => void;
  private readonly onQuarantine: ((q: Quarantined) => void) | undefined;
  private readonly onWrite: ((err: unknown) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(opts: EmbeddedInventoryStoreOptions = {}) {
    const max = { ...DEFAULT_MAX_RECORDS, ...opts.maxRecords };
    this.tables = { edges: new Table(max.edges), tokens: new Table(max.tokens), pii: new Table(max.pii) };
    this.path = opts.dataDir ? join(opts.dataDir, 'inventory.json') : undefined;
    this.onError = opts.onError ?? (() => undefined);
    this.onQuarantine = opts.onQuarantine;
    this.onWrite = opts.onWrite;
    const every = opts.snapshotIntervalMs ?? 30_000;
    if (this.path && every > 0) {
      this.timer = setInterval(() => void this.flush().catch(this.onError), every);
      this.timer.unref();
    }
  }

  /** Creates the store and loads the last snapshot, if there is one. */
  static async open(opts: EmbeddedInventoryStoreOptions = {}): Promise<EmbeddedInventoryStore> {
    const store = new EmbeddedInventoryStore(opts);
    await store.load();
    return store;
  }

  get snapshotPath(): string | undefined {
    return this.path;
  }

  /** Records dropped to stay within `maxRecords`, per table, since start. */
  evictions(table: InventoryTable): number {
    return this.tables[table].evicted;
  }

  async apply(table: InventoryTable, deltas: readonly RecordDelta[]): Promise<void> {
    const t = this.tables[table];
    for (const d of deltas) t.apply(d);
    if (deltas.length > 0) this.dirty = true;
  }

  async get(table: InventoryTable, key: string): Promise<InventoryRecord | undefined> {
    return this.tables[table].records.get(key);
  }

  async scan(table: InventoryTable, opts: ScanOptions): Promise<ScanPage> {
    return this.tables[table].scan(opts);
  }

  async size(table: InventoryTable): Promise<number> {
    return this.tables[table].records.size;
  }

  async flush(): Promise<void> {
    // After a failed write (ENOSPC) the chain must not stay rejected, or no snapshot is ever written again.
    this.writing = this.writing.catch(() => undefined).then(() => this.writeSnapshot());
    await this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writeSnapshot(): Promise<void> {
    if (!this.path || !this.dirty) return;
    this.dirty = false;
    const parts: string[] = [`{"format":"tollgate-inventory","version":1,"saved_at":${JSON.stringify(new Date().toISOString())},"tables":{`];
    INVENTORY_TABLES.forEach((name, n) => {
      parts.push(`${n > 0 ? ',' : ''}${JSON.stringify(name)}:[`);
      let first = true;
      for (const r of this.tables[name].records.values()) {
        const sketches: Record<string, SketchData> = {};
        for (const s in r.sketches) sketches[s] = r.sketches[s]!.toJSON();
        const row: SnapshotRow = [r.key, r.firstSeen, r.lastSeen, r.counters, r.sets, sketches];
        parts.push(`${first ? '' : ','}\n${JSON.stringify(row)}`);
        first = false;
      }
      parts.push(']');
    });
    parts.push('}}\n');
    try {
      await writeFileAtomic(this.path, parts.join(''));
    } catch (err) {
      this.dirty = true;
      this.onWrite?.(err);
      throw err;
    }
    this.onWrite?.(undefined);
  }

  private async load(): Promise<void> {
    if (!this.path) return;
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const snap = JSON.parse(raw) as Snapshot;
      if (snap?.format !== 'tollgate-inventory' || snap.version !== 1) throw new Error('not a Tollgate inventory snapshot (version 1)');
      for (const name of INVENTORY_TABLES) {
        for (const [key, firstSeen, lastSeen, counters, sets, sketchData] of snap.tables?.[name] ?? []) {
          if (typeof key !== 'string' || typeof firstSeen !== 'number' || typeof lastSeen !== 'number') throw new Error(`a ${name} row is not [key, firstSeen, lastSeen, ...]`);
          const sketches: Record<string, DDSketch> = {};
          for (const s in sketchData) sketches[s] = DDSketch.from(sketchData[s]!);
          this.tables[name].restore({ key, firstSeen, lastSeen, counters: counters ?? {}, sets: sets ?? NO_SETS, sketches });
        }
      }
    } catch (err) {
      // A snapshot is a cache of the audit log: start empty rather than not at all, and keep the bad file.
      for (const name of INVENTORY_TABLES) this.tables[name].records.clear();
      this.onQuarantine?.(await quarantineFile(this.path, (err as Error).message));
    }
  }
}
