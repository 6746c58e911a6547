import type { DDSketch } from '../inventory/sketch.js';

/** The inventory's three tables: who talks to what, which tokens go where, which PII goes where. */
export const INVENTORY_TABLES = ['edges', 'tokens', 'pii'] as const;
export type InventoryTable = (typeof INVENTORY_TABLES)[number];

/**
 * One fold of events into one record. Every part merges commutatively, so replicas can apply their
 * deltas in any order and get the same record. On Redis a record is one hash: counters are HINCRBY
 * fields, first/last seen are `ZADD LT`/`ZADD GT` on per-table sorted sets (which also give the
 * last-seen order and the eviction order), sets are SADD, sketch bins are HINCRBY on `bin:<index>`.
 */
export interface RecordDelta {
  key: string;
  /** Event time (ms since epoch): first_seen = min, last_seen = max. */
  at: number;
  counters?: Readonly<Record<string, number>>;
  sets?: Readonly<Record<string, readonly string[]>>;
  sketches?: Readonly<Record<string, DDSketch>>;
}

/** A record as stored. Treat as read-only: the embedded store hands out its live objects. */
export interface InventoryRecord {
  key: string;
  firstSeen: number;
  lastSeen: number;
  counters: Record<string, number>;
  sets: Record<string, string[]>;
  sketches: Record<string, DDSketch>;
}

export interface ScanOptions {
  /** Resume after this key (exclusive): the cursor of key-ordered pagination. */
  after?: string;
  /** Only keys starting with this (edges and PII keys start with the identity). */
  prefix?: string;
  limit: number;
}

export interface ScanPage {
  records: InventoryRecord[];
  /** Last key of this page when more may follow. */
  next?: string;
}

/**
 * Where inventory records live. Writes are deltas (never read-modify-write), reads are by key or a
 * key-ordered scan (Redis: a lexicographic sorted set of keys and ZRANGE BYLEX), so a Redis store is a
 * second implementation of this interface rather than a different design.
 */
export interface InventoryStore {
  apply(table: InventoryTable, deltas: readonly RecordDelta[]): Promise<void>;
  get(table: InventoryTable, key: string): Promise<InventoryRecord | undefined>;
  scan(table: InventoryTable, opts: ScanOptions): Promise<ScanPage>;
  size(table: InventoryTable): Promise<number>;
  /** Makes what was applied so far durable (embedded: writes the snapshot). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Most members kept per set (identities of a token, its destinations): enough for every flag and for a reader. */
export const MAX_SET_MEMBERS = 256;
