import type { TruncationMarks } from '../audit/record-limit.js';
import type { EgressEvent } from '../events/types.js';

/**
 * One audit record: an egress event plus its position in the log and its place in the hash chain.
 * `hash` = SHA-256(prev_hash + canonical JSON of the record without `hash`); see `src/audit/chain.ts`.
 */
export type AuditRecord = EgressEvent &
  TruncationMarks & {
    /** Position in the log: 1, 2, 3, ... across segments and restarts, never reused. */
    seq: number;
    prev_hash: string;
    hash: string;
    /** Set on a query answer for a record too long to read back whole (stored before the size cap): its size and the members left out. */
    stored_bytes?: number;
    omitted?: Record<string, number>;
  };

export type AuditKind = EgressEvent['kind'];
export type AuditVerdict = Extract<EgressEvent, { kind: 'decision' }>['verdict'];

/** Filters for `AuditStore.query`; every given filter must match (AND). */
export interface AuditQuery {
  /** Epoch ms, inclusive, on the record's `time`. */
  since?: number;
  /** Epoch ms, exclusive, on the record's `time`. */
  until?: number;
  identity?: string;
  /** `host:port`, or a bare host to match it on any port. */
  destination?: string;
  verdict?: AuditVerdict;
  /** Scrub records with at least one finding of this type. */
  finding_type?: string;
  decision_id?: string;
  kind?: AuditKind;
  /** Page size (the store caps it; the API allows at most 1000). */
  limit?: number;
  /** `next_cursor` from the previous page: continue with older records. */
  cursor?: string;
}

export interface AuditPage {
  /** Newest (most recently appended) first. */
  records: AuditRecord[];
  /** Opaque; null when there are no older matching records. */
  next_cursor: string | null;
}

export type AuditBreakReason = 'unparsable' | 'hash_mismatch' | 'prev_hash_mismatch' | 'seq_mismatch' | 'bad_header' | 'segment_link_mismatch';

/** The first record (or segment header) where the chain does not verify. */
export interface AuditBreak {
  /** Segment file name (embedded) or stream key (Redis). */
  segment: string;
  /** 1-based line in the segment (line 1 is the segment header). */
  line: number;
  /** The seq the record has, or should have at that position. */
  seq?: number;
  reason: AuditBreakReason;
  message: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  segments: number;
  records: number;
  first_seq?: number;
  last_seq?: number;
  broken?: AuditBreak;
  /** Facts that are not failures: the chain starts after retention removed older segments, a torn tail awaiting recovery. */
  notes: string[];
  /** Damaged segments recovery set aside (each fails the verification); present only when there are some. */
  quarantined?: AuditBreak[];
}

/** A damaged segment kept whole in quarantine: where it is, what it was, and its first damaged line. */
export interface QuarantinedSegment extends AuditBreak {
  /** The name it had in the log. */
  original: string;
  quarantined_at: string;
  bytes: number;
  /** Intact records before the damage (still returned by queries). */
  records_kept: number;
}

/** The audit log's health, for `/v1/audit/status`, readiness and metrics. */
export interface AuditStoreStatus {
  quarantined: QuarantinedSegment[];
  /** Sealed segments found damaged at open (left in place). */
  damaged: AuditBreak[];
  /** The last append failed (disk full, I/O error); cleared by the next that succeeds. */
  appends_failing: boolean;
  failing_since?: string;
  last_error?: string;
  append_failures: number;
  records_truncated: number;
  records_stubbed: number;
  last_seq: number;
  /** Embedded store: what the log takes on disk, its cap (null: none), the oldest seq still held, and what retention removed since start. */
  disk_bytes?: number;
  max_bytes?: number | null;
  first_seq?: number;
  retention_removed?: Record<'age' | 'size', { segments: number; records: number }>;
}

export interface AuditQueryOptions {
  /** Stops the query (it rejects with the signal's reason), e.g. when the HTTP client went away. */
  signal?: AbortSignal;
}

/** A malformed or foreign cursor; the API answers 400. */
export class InvalidCursorError extends Error {
  constructor(message = 'invalid cursor') {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/**
 * The audit log: an append-only stream read newest first through opaque cursors. The embedded store keeps
 * hash-chained JSONL segments on disk; a Redis store maps it onto a stream (XADD, XREVRANGE with the stream id in the cursor).
 */
export interface AuditStore {
  /** Resolves only once every record is durable (fsynced); only then can `query` return it. Rejects and writes nothing readable on failure. */
  append(events: readonly EgressEvent[]): Promise<void>;
  query(q: AuditQuery, opts?: AuditQueryOptions): Promise<AuditPage>;
  /** Checks the whole hash chain of what is durable now. */
  verify(): Promise<AuditVerifyReport>;
  /** Stops running queries, waits for pending appends, then releases files/connections. */
  close(): Promise<void>;
}
