import { mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { headerHash, ZERO_HASH, type SegmentHeader } from '../../audit/chain.js';
import { verifyAuditDir } from '../../audit/verify.js';
import type { EgressEvent } from '../../events/types.js';
import { compileAuditFilter, compileLinePrefilter, overlapsTime } from '../audit-filter.js';
import {
  InvalidCursorError,
  type AuditBreak,
  type AuditPage,
  type AuditQuery,
  type AuditQueryOptions,
  type AuditRecord,
  type AuditStore,
  type AuditStoreStatus,
  type AuditVerifyReport,
  type QuarantinedSegment,
} from '../audit-store.js';
import { loadIndex, saveIndex, scanSegment, type SegmentInfo, type SegmentScan } from './audit-index.js';
import { COMPRESSED_SUFFIX, isCompressed, linesBackward, listSegments, QUARANTINE_DIR, quarantineName, readOversizedLine, segmentName } from './audit-segment-file.js';
import { writeFileAtomic } from './atomic-file.js';
import { gzipSegment } from './audit-compress.js';
import { AuditEncoder, type AuditEncoderStats } from './audit-encoder.js';

export interface EmbeddedAuditOptions {
  /** The data directory; segments live in `<dataDir>/audit/`. */
  dataDir: string;
  /** Rotate once a segment reaches this size (default 64 MiB; a segment ends at the first group commit past it). */
  maxSegmentBytes?: number;
  /** Rotate a segment this old that holds records (default 1 day). */
  maxSegmentAgeMs?: number;
  /** Delete sealed segments sealed longer ago than this (default 30 days; 0 keeps them forever). */
  retentionDays?: number;
  /** Delete the oldest sealed segments so that all segments (compressed size on disk) stay within this, counting the active one as full (default: no limit). */
  maxTotalBytes?: number;
  /** Gzip sealed segments (`.jsonl.gz`: same lines, same hashes; default true). */
  compressSealed?: boolean;
  /** Most records written under one fsync (default 16,384). */
  maxGroupRecords?: number;
  /** How often age rotation and retention run while idle (default 60 s). */
  maintenanceIntervalMs?: number;
  now?: () => number;
  /** Encode records (canonical JSON, hash chain) on a worker thread, off the event loop; default: when the process may use more than one CPU. */
  encodeInWorker?: boolean;
  /** Recovery and housekeeping problems (a torn tail cut off, an index that could not be written). */
  onWarn?: (message: string) => void;
}

/** What opening the store repaired after a crash, or set aside as damaged. */
export interface AuditRecovery {
  segment: string;
  action: 'truncated_torn_tail' | 'completed_last_line' | 'removed_torn_segment' | 'quarantined';
  bytes: number;
  lines: number;
  /** For `quarantined`: the first damaged line, why, and where the segment now is. */
  line?: number;
  reason?: AuditBreak['reason'];
  moved_to?: string;
}

export interface AuditStoreStats {
  appends: number;
  records: number;
  commits: number;
  fsyncs: number;
  bytes: number;
  segments: number;
  last_seq: number;
  records_truncated: number;
  records_stubbed: number;
  append_failures: number;
  encoder: AuditEncoderStats;
  /** Sealed segments gzipped, and their bytes before and after. */
  compressed_segments: number;
  compressed_bytes_in: number;
  compressed_bytes_out: number;
}

/** The sidecar written next to a quarantined segment: why it was set aside, and its intact prefix (still queryable). */
interface QuarantineNote extends QuarantinedSegment {
  prefix: SegmentInfo;
}

interface Active {
  info: SegmentInfo;
  fh: FileHandle;
  /** A write or fsync failed: the file may hold bytes past `info.bytes` that must go before the next write. */
  dirty: boolean;
}

interface Pending {
  events: readonly EgressEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const DAY_MS = 86_400_000;

/**
 * The embedded audit store: hash-chained JSONL segments in `<dataDir>/audit/`, written by group commit (every
 * append waiting while an fsync runs shares the next one), rotated by size and age, pruned by retention.
 */
export class EmbeddedAuditStore implements AuditStore {
  readonly dir: string;
  readonly recovery: AuditRecovery[] = [];
  private readonly maxSegmentBytes: number;
  private readonly maxSegmentAgeMs: number;
  private readonly retentionMs: number;
  private readonly maxTotalBytes: number;
  private readonly maxGroupRecords: number;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private sealed: SegmentInfo[] = [];
  private active!: Active;
  private pending: Pending[] = [];
  private draining: Promise<void> | undefined;
  private scheduled = false;
  private maintenanceDue = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly counters = { appends: 0, records: 0, commits: 0, fsyncs: 0, bytes: 0, records_truncated: 0, records_stubbed: 0, append_failures: 0, compressed_segments: 0, compressed_bytes_in: 0, compressed_bytes_out: 0 };
  private readonly retention = { age: { segments: 0, records: 0 }, size: { segments: 0, records: 0 } };
  private readonly compressSealed: boolean;
  /** The background compression of sealed segments (never inside a group commit's path). */
  private compressing: Promise<void> | undefined;
  private compressAgain = false;
  private indexWrite: Promise<void> = Promise.resolve();
  /** Plain copies of compressed segments, removed once the queries that may read them are done. */
  private readonly removals = new Set<Promise<unknown>>();
  private readonly quarantined: QuarantineNote[] = [];
  /** Sealed segments found damaged when rescanned at open; left in place (their successors link to them). */
  private readonly damaged: AuditBreak[] = [];
  private failing: { since: number; error: string } | undefined;
  /** Aborted by `close()`: every running query stops reading. */
  private readonly closing = new AbortController();
  private readonly queries = new Set<Promise<unknown>>();
  private readonly encoder: AuditEncoder;

  private constructor(opts: EmbeddedAuditOptions) {
    this.dir = join(opts.dataDir, 'audit');
    this.maxSegmentBytes = opts.maxSegmentBytes ?? 64 * 2 ** 20;
    this.maxSegmentAgeMs = opts.maxSegmentAgeMs ?? DAY_MS;
    this.retentionMs = (opts.retentionDays ?? 30) * DAY_MS;
    this.maxTotalBytes = opts.maxTotalBytes ?? Number.POSITIVE_INFINITY;
    this.compressSealed = opts.compressSealed ?? true;
    this.maxGroupRecords = opts.maxGroupRecords ?? 16_384;
    this.now = opts.now ?? Date.now;
    this.warn = opts.onWarn ?? (() => undefined);
    this.encoder = new AuditEncoder({ useWorker: opts.encodeInWorker, onWarn: this.warn });
    const every = opts.maintenanceIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.maintenanceDue = true;
        this.schedule();
      }, every);
      this.timer.unref();
    }
  }

  /** Opens (or creates) the store: cuts a torn tail left by a crash, quarantines a damaged active segment; see `recovery`. */
  static async open(opts: EmbeddedAuditOptions): Promise<EmbeddedAuditStore> {
    const store = new EmbeddedAuditStore(opts);
    try {
      await store.load();
    } catch (err) {
      if (store.timer) clearInterval(store.timer);
      await store.encoder.close();
      throw err;
    }
    return store;
  }

  append(events: readonly EgressEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('audit store is closed'));
    this.counters.appends++;
    if (events.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.schedule();
    });
  }

  query(q: AuditQuery, opts: AuditQueryOptions = {}): Promise<AuditPage> {
    if (this.closed) return Promise.reject(new Error('audit store is closed'));
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal;
    const run = this.runQuery(q, signal);
    this.queries.add(run);
    void run.finally(() => this.queries.delete(run)).catch(() => undefined);
    return run;
  }

  private async runQuery(q: AuditQuery, signal: AbortSignal): Promise<AuditPage> {
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 1000);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const filter = compileAuditFilter(q);
    const prefilter = compileLinePrefilter(q);
    const timeFiltered = q.since !== undefined || q.until !== undefined;
    // A snapshot: only bytes that were fsynced before the query started are read.
    const segments = [...this.sealed, ...this.quarantined.map((n) => n.prefix), { ...this.active.info }].sort((x, y) => x.first_seq - y.first_seq).reverse();
    const found: Array<{ record: AuditRecord; segment: number; start: number }> = [];
    scan: for (const seg of segments) {
      if (seg.last_seq < seg.first_seq) continue;
      if (cursor && seg.first_seq >= cursor.seq) continue;
      if (timeFiltered && !overlapsTime(q, seg.min_time, seg.max_time)) continue;
      const end = cursor && cursor.segment === seg.first_seq ? Math.min(seg.bytes, cursor.offset) : seg.bytes;
      const path = join(this.dir, seg.file);
      try {
        for await (const line of linesBackward(path, end, 0, { signal })) {
          if (line.start === 0) break;
          let record: AuditRecord;
          if (line.oversized) {
            record = await oversizedStub(path, line.start, line.oversized.end, signal);
          } else {
            if (prefilter && !prefilter(line.text)) continue;
            try {
              record = JSON.parse(line.text) as AuditRecord;
            } catch {
              continue;
            }
          }
          if (cursor && record.seq >= cursor.seq) continue;
          if (!filter(record)) continue;
          found.push({ record, segment: seg.first_seq, start: line.start });
          if (found.length > limit) break scan;
        }
      } catch (err) {
        // Retention removed the segment while we read it.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return {
      records: page.map((f) => f.record),
      next_cursor: found.length > limit && last ? encodeCursor({ seq: last.record.seq, segment: last.segment, offset: last.start }) : null,
    };
  }

  async verify(): Promise<AuditVerifyReport> {
    return verifyAuditDir(this.dir, { limits: new Map([[this.active.info.file, this.active.info.bytes]]) });
  }

  /** Stops running queries (they reject), waits for pending appends, then releases the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.closing.abort(new AuditStoreClosedError());
    await Promise.allSettled([...this.queries]);
    while (this.draining || this.scheduled || this.pending.length > 0) {
      if (this.draining) await this.draining;
      else await new Promise((r) => setImmediate(r));
    }
    while (this.compressing) await this.compressing;
    await Promise.allSettled([...this.removals]);
    await this.encoder.close();
    await this.active.fh.close();
  }

  /** Resolves once records are encoded on the worker thread (true), or false when they are encoded in-thread. */
  encoderReady(): Promise<boolean> {
    return this.encoder.whenReady();
  }

  stats(): AuditStoreStats {
    return { ...this.counters, segments: this.sealed.length + 1, last_seq: this.active.info.last_seq, encoder: this.encoder.stats() };
  }

  /** Bytes the log takes on disk now (sealed segments as stored, compressed or not, plus the active one). */
  diskBytes(): number {
    let total = this.active.info.bytes;
    for (const s of this.sealed) total += s.stored_bytes ?? s.bytes;
    return total;
  }

  /** What an operator must know: quarantined or damaged segments, failing appends, records cut to size. */
  status(): AuditStoreStatus {
    return {
      quarantined: this.quarantined.map(({ prefix: _prefix, ...q }) => q),
      damaged: [...this.damaged],
      appends_failing: this.failing !== undefined,
      ...(this.failing ? { failing_since: new Date(this.failing.since).toISOString(), last_error: this.failing.error } : {}),
      append_failures: this.counters.append_failures,
      records_truncated: this.counters.records_truncated,
      records_stubbed: this.counters.records_stubbed,
      last_seq: this.active.info.last_seq,
      disk_bytes: this.diskBytes(),
      max_bytes: Number.isFinite(this.maxTotalBytes) ? this.maxTotalBytes : null,
      first_seq: this.sealed[0]?.first_seq ?? this.active.info.first_seq,
      retention_removed: { age: { ...this.retention.age }, size: { ...this.retention.size } },
    };
  }

  /** Runs age rotation and retention now (they also run every `maintenanceIntervalMs` and after each rotation). */
  async maintain(): Promise<void> {
    this.maintenanceDue = true;
    this.schedule();
    while (this.maintenanceDue || this.scheduled || this.draining) {
      if (this.draining) await this.draining;
      else await new Promise((r) => setImmediate(r));
    }
    while (this.compressing) await this.compressing;
    await Promise.allSettled([...this.removals]);
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.loadQuarantine();
    const index = await loadIndex(this.dir);
    await this.finishCompressions();
    const files = await listSegments(this.dir);
    let last: { file: string; scan: SegmentScan } | undefined;
    while (files.length > 0 && !last) {
      // A compressed segment is sealed: appends go on in a new segment after it.
      if (isCompressed(files.at(-1)!)) break;
      const file = files.pop()!;
      const path = join(this.dir, file);
      const scan = await scanSegment(path, file);
      if (scan.tornHeader || scan.size === 0) {
        // Only part of the header had been written when the process died: nothing in it was ever acknowledged.
        await rm(path, { force: true });
        this.noteRecovery({ segment: file, action: 'removed_torn_segment', bytes: scan.size, lines: 1 });
        continue;
      }
      last = { file, scan };
    }
    for (const file of files) {
      const known = index.get(file);
      const size = (await stat(join(this.dir, file))).size;
      const compressed = isCompressed(file);
      let info = known && (compressed ? known.stored_bytes : known.bytes) === size ? known : undefined;
      if (!info) {
        const scan = await scanSegment(join(this.dir, file), file);
        info = compressed ? { ...scan.info, bytes: scan.size, stored_bytes: size } : { ...scan.info, bytes: size };
        if (scan.damage) {
          this.damaged.push({ segment: file, ...scan.damage });
          this.warn(`audit: sealed segment ${file} is damaged at line ${scan.damage.line} (${scan.damage.reason}); left in place, run tollgate audit verify`);
        }
      }
      info.sealed ??= info.max_time ?? info.created;
      this.sealed.push(info);
    }
    if (last?.scan.damage) {
      const from = await this.quarantine(last.file, last.scan);
      this.active = await this.createSegment(from.last_seq + 1, from.last_hash, this.now());
    } else if (last) {
      await this.repairTail(last.file, last.scan);
      this.active = { info: last.scan.info, fh: await open(join(this.dir, last.file), 'r+'), dirty: false };
    } else {
      const prev = this.sealed.at(-1);
      this.active = await this.createSegment(prev ? prev.last_seq + 1 : 1, prev?.last_hash ?? ZERO_HASH, this.now());
    }
    await this.persistIndex();
    this.maintenanceDue = true;
    this.schedule();
  }

  /** Cuts a torn tail (an incomplete last line after a crash) and completes a record that lost only its newline. */
  private async repairTail(file: string, scan: SegmentScan): Promise<void> {
    if (!scan.torn && !scan.missingNewline) return;
    const fh = await open(join(this.dir, file), 'r+');
    try {
      if (scan.torn) {
        await fh.truncate(scan.goodEnd);
        this.noteRecovery({ segment: file, action: 'truncated_torn_tail', bytes: scan.torn.bytes, lines: scan.torn.lines });
      }
      if (scan.missingNewline) {
        await fh.write('\n', scan.goodEnd);
        this.noteRecovery({ segment: file, action: 'completed_last_line', bytes: 1, lines: 0 });
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Sets a damaged active segment aside whole (renamed into `quarantine/`, never cut or deleted) and returns where the
   * chain goes on: its intact prefix, or the previous segment when even the header is damaged.
   */
  private async quarantine(file: string, scan: SegmentScan): Promise<{ last_seq: number; last_hash: string }> {
    const damage = scan.damage!;
    const at = this.now();
    const name = quarantineName(at, file);
    const qdir = join(this.dir, QUARANTINE_DIR);
    await mkdir(qdir, { recursive: true });
    const prev = this.sealed.at(-1);
    const nameSeq = Number(/(\d{16})/.exec(file)?.[1] ?? '1');
    const from = scan.header ? scan.info : prev ? { last_seq: prev.last_seq, last_hash: prev.last_hash } : { last_seq: nameSeq - 1, last_hash: ZERO_HASH };
    const note: QuarantineNote = {
      segment: `${QUARANTINE_DIR}/${name}`,
      original: file,
      line: damage.line,
      ...(damage.seq !== undefined ? { seq: damage.seq } : {}),
      reason: damage.reason,
      message: damage.message,
      quarantined_at: new Date(at).toISOString(),
      bytes: scan.size,
      records_kept: scan.header ? Math.max(0, scan.info.last_seq - scan.info.first_seq + 1) : 0,
      prefix: { ...scan.info, file: `${QUARANTINE_DIR}/${name}`, bytes: scan.goodEnd, sealed: at },
    };
    // The note first: a crash before the rename leaves the segment in place, found damaged and quarantined again.
    await writeFileAtomic(join(qdir, `${name}.json`), `${JSON.stringify(note)}\n`).catch((err: Error) => this.warn(`audit: could not write the quarantine note for ${file} (verify still reports it): ${err.message}`));
    await rename(join(this.dir, file), join(qdir, name));
    await fsyncDir(qdir);
    await fsyncDir(this.dir);
    this.quarantined.push(note);
    this.noteRecovery({ segment: file, action: 'quarantined', bytes: scan.size, lines: 0, line: damage.line, reason: damage.reason, moved_to: note.segment });
    return from;
  }

  /** Quarantined segments from earlier runs, from their notes (a note without its segment is a quarantine that never happened). */
  private async loadQuarantine(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, QUARANTINE_DIR));
    } catch {
      return;
    }
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      if (!names.includes(n.slice(0, -5))) continue;
      try {
        this.quarantined.push(JSON.parse(await readFile(join(this.dir, QUARANTINE_DIR, n), 'utf8')) as QuarantineNote);
      } catch (err) {
        this.warn(`audit: unreadable quarantine note ${n}: ${(err as Error).message}`);
      }
    }
  }

  private noteRecovery(r: AuditRecovery): void {
    this.recovery.push(r);
    if (r.action === 'quarantined') {
      this.warn(`audit recovery: ${r.segment} is damaged at line ${r.line} (${r.reason?.replaceAll('_', ' ')}); kept whole as ${r.moved_to}, a new segment continues the chain`);
    } else this.warn(`audit recovery: ${r.action.replaceAll('_', ' ')} in ${r.segment} (${r.bytes} bytes, ${r.lines} lines)`);
  }

  private schedule(): void {
    if (this.draining || this.scheduled) return;
    this.scheduled = true;
    // setImmediate gathers every append made in this turn of the event loop into the first commit.
    setImmediate(() => {
      this.scheduled = false;
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        if (this.pending.length > 0 || this.maintenanceDue) this.schedule();
      });
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.maintenanceDue) {
        this.maintenanceDue = false;
        if (this.closed) continue;
        try {
          await this.maintainNow(this.now());
        } catch (err) {
          this.warn(`audit maintenance failed: ${(err as Error).message}`);
        }
      }
      if (this.pending.length === 0) return;
      const group = this.takeGroup();
      const events = group.length === 1 ? group[0]!.events : group.flatMap((p) => p.events);
      try {
        await this.commit(events);
        this.counters.records += events.length;
        this.failing = undefined;
        for (const p of group) p.resolve();
      } catch (err) {
        this.counters.append_failures++;
        this.failing ??= { since: this.now(), error: '' };
        this.failing.error = (err as Error).message;
        for (const p of group) p.reject(err);
      }
    }
  }

  private takeGroup(): Pending[] {
    let n = 0;
    let i = 0;
    while (i < this.pending.length && (i === 0 || n + this.pending[i]!.events.length <= this.maxGroupRecords)) n += this.pending[i++]!.events.length;
    return this.pending.splice(0, i);
  }

  /** Chains, writes and fsyncs one group; the in-memory tail moves only after the fsync, so a failure leaves nothing readable. */
  private async commit(events: readonly EgressEvent[]): Promise<void> {
    const now = this.now();
    if (this.needsRotation(now)) await this.rotate(now);
    const a = this.active;
    const info = a.info;
    const g = await this.encoder.encode(events, info.last_seq + 1, info.last_hash);
    this.counters.records_truncated += g.truncated;
    this.counters.records_stubbed += g.stubbed;
    if (g.cutCount) this.warn(`audit: ${g.cutCount} record(s) over the size limit stored cut down: ${g.cut.join(', ')}${g.cutCount > g.cut.length ? ', ...' : ''}`);
    if (a.dirty) {
      await a.fh.truncate(info.bytes);
      a.dirty = false;
    }
    let written = 0;
    try {
      for (const buf of g.chunks) {
        await writeFully(a.fh, buf, info.bytes + written);
        written += buf.length;
      }
      await a.fh.datasync();
    } catch (err) {
      a.dirty = true;
      throw err;
    }
    this.counters.fsyncs++;
    this.counters.commits++;
    this.counters.bytes += written;
    info.last_seq += events.length;
    info.last_hash = g.lastHash;
    info.bytes += written;
    if (g.minTime !== null && (info.min_time === null || g.minTime < info.min_time)) info.min_time = g.minTime;
    if (g.maxTime !== null && (info.max_time === null || g.maxTime > info.max_time)) info.max_time = g.maxTime;
  }

  private needsRotation(now: number): boolean {
    const info = this.active.info;
    return info.last_seq >= info.first_seq && (info.bytes >= this.maxSegmentBytes || now - info.created >= this.maxSegmentAgeMs);
  }

  private async rotate(now: number): Promise<void> {
    const old = this.active;
    this.active = await this.createSegment(old.info.last_seq + 1, old.info.last_hash, now);
    old.info.sealed = now;
    this.sealed.push(old.info);
    await old.fh.close().catch((err: Error) => this.warn(`audit: closing ${old.info.file}: ${err.message}`));
    await this.persistIndex();
    await this.applyRetention(now);
    if (this.compressSealed) this.kickCompression();
  }

  private async maintainNow(now: number): Promise<void> {
    if (this.needsRotation(now)) await this.rotate(now);
    else await this.applyRetention(now);
    if (this.compressSealed) this.kickCompression();
  }

  private kickCompression(): void {
    if (this.closed) return;
    if (this.compressing) {
      // Sealed after the running pass took its list: one more pass once it ends.
      this.compressAgain = true;
      return;
    }
    this.compressAgain = false;
    this.compressing = this.compressPending().finally(() => {
      this.compressing = undefined;
      if (this.compressAgain) this.kickCompression();
    });
  }

  /**
   * Gzips sealed segments not compressed yet, oldest first, one at a time, beside group commits (never inside one).
   * Crash-safe: the compressed copy is written as `.gz.tmp`, fsynced, checked (it decompresses to the very bytes),
   * renamed into place, and only then is the plain file removed; `finishCompressions` completes or undoes whatever a
   * crash interrupted.
   */
  private async compressPending(): Promise<void> {
    for (const info of [...this.sealed]) {
      if (this.closed) return;
      if (isCompressed(info.file)) continue;
      const plain = join(this.dir, info.file);
      const file = info.file + COMPRESSED_SUFFIX;
      const tmp = join(this.dir, `${file}.tmp`);
      try {
        const { bytesIn, bytesOut } = await gzipSegment(plain, tmp, info.bytes);
        // Retention may have removed the segment meanwhile: then its compressed copy must not appear.
        if (!this.sealed.includes(info)) {
          await rm(tmp, { force: true });
          continue;
        }
        await rename(tmp, join(this.dir, file));
        // ...or during the rename: then the copy just put in place must go too, or the next open would find it and
        // bring back records retention had removed.
        if (!this.sealed.includes(info)) {
          await rm(join(this.dir, file), { force: true });
          continue;
        }
        await fsyncDir(this.dir);
        info.file = file;
        info.stored_bytes = bytesOut;
        await this.persistIndex();
        // Queries that started before the switch may still be reading the plain file: it goes once they are done.
        const removal = Promise.allSettled([...this.queries])
          .then(() => rm(plain, { force: true }))
          .catch((err: Error) => this.warn(`audit: removing ${plain} after compressing it: ${err.message}`))
          .finally(() => this.removals.delete(removal));
        this.removals.add(removal);
        this.counters.compressed_segments++;
        this.counters.compressed_bytes_in += bytesIn;
        this.counters.compressed_bytes_out += bytesOut;
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        // Removed by retention while being compressed: nothing to report.
        if (this.sealed.includes(info)) this.warn(`audit: compressing ${info.file} failed (kept plain, retried later): ${(err as Error).message}`);
      }
    }
  }

  /** At open: a `.gz.tmp` is an unfinished compression (its plain segment is intact): removed; a plain segment whose `.gz` is in place: removed; a stray index temp file: removed. */
  private async finishCompressions(): Promise<void> {
    const names = await readdir(this.dir);
    const set = new Set(names);
    for (const n of names) {
      // A `.gz.tmp` of a compression, or an index write's temp file (`.index.json.<pid>.<ms>.tmp`), cut short by a crash.
      if (n.endsWith(`${COMPRESSED_SUFFIX}.tmp`) || (n.startsWith('.index.json.') && n.endsWith('.tmp'))) await rm(join(this.dir, n), { force: true });
      else if (n.startsWith('audit-') && n.endsWith('.jsonl') && set.has(n + COMPRESSED_SUFFIX)) await rm(join(this.dir, n), { force: true });
    }
  }

  private async createSegment(firstSeq: number, prevHash: string, now: number): Promise<Active> {
    const header: SegmentHeader = { audit_segment: 1, first_seq: firstSeq, created: new Date(now).toISOString(), prev_segment_hash: prevHash };
    const line = Buffer.from(`${JSON.stringify(header)}\n`);
    const file = segmentName(firstSeq);
    // 'w+' so that a retry after a failed attempt starts the file afresh.
    const fh = await open(join(this.dir, file), 'w+', 0o600);
    try {
      await writeFully(fh, line, 0);
      await fh.datasync();
      await fsyncDir(this.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.counters.fsyncs += 2;
    const info: SegmentInfo = { file, first_seq: firstSeq, last_seq: firstSeq - 1, min_time: null, max_time: null, bytes: line.length, last_hash: headerHash(header), created: now };
    return { info, fh, dirty: false };
  }

  private async applyRetention(now: number): Promise<void> {
    const doomed: SegmentInfo[] = [];
    const records = (s: SegmentInfo) => Math.max(0, s.last_seq - s.first_seq + 1);
    if (this.retentionMs > 0) {
      while (this.sealed.length > 0 && (this.sealed[0]!.sealed ?? this.sealed[0]!.created) < now - this.retentionMs) {
        const s = this.sealed.shift()!;
        doomed.push(s);
        this.retention.age.segments++;
        this.retention.age.records += records(s);
      }
    }
    // Room for the active segment to fill up, so that the limit holds between rotations too.
    let total = Math.max(this.active.info.bytes, this.maxSegmentBytes);
    for (const s of this.sealed) total += s.stored_bytes ?? s.bytes;
    const bySize: SegmentInfo[] = [];
    while (total > this.maxTotalBytes && this.sealed.length > 0) {
      const s = this.sealed.shift()!;
      total -= s.stored_bytes ?? s.bytes;
      bySize.push(s);
      this.retention.size.segments++;
      this.retention.size.records += records(s);
    }
    if (bySize.length) {
      const n = bySize.reduce((a, s) => a + records(s), 0);
      this.warn(`audit: size cap ${this.maxTotalBytes} bytes reached: removing the ${bySize.length} oldest segment(s), seq ${bySize[0]!.first_seq}-${bySize.at(-1)!.last_seq} (${n} records); the chain now starts at seq ${this.sealed[0]?.first_seq ?? this.active.info.first_seq}`);
      doomed.push(...bySize);
    }
    if (doomed.length === 0) return;
    // Index first: a crash between the two leaves an unindexed file, which the next open rescans, rather than a dangling entry.
    await this.persistIndex();
    // Both names: a plain file whose compressed copy just replaced it may not have been removed yet.
    for (const s of doomed) {
      const plain = segmentName(s.first_seq);
      await rm(join(this.dir, plain), { force: true });
      await rm(join(this.dir, plain + COMPRESSED_SUFFIX), { force: true });
    }
  }

  /** Index writes go one at a time (group commits, retention and compression may each write it), each with the latest state. */
  private persistIndex(): Promise<void> {
    const run = this.indexWrite.then(() =>
      saveIndex(this.dir, this.sealed).catch((err: Error) => this.warn(`audit: could not write the segment index (segments are rescanned on open): ${err.message}`)),
    );
    this.indexWrite = run;
    return run;
  }
}

async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    off += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** A running query stopped because the store is closing. */
export class AuditStoreClosedError extends Error {
  constructor() {
    super('audit store is closing');
    this.name = 'AbortError';
  }
}

/** A record too long to hold (written before records were capped) as a stub: its small top-level members, marked. */
async function oversizedStub(path: string, start: number, end: number, signal: AbortSignal): Promise<AuditRecord> {
  const o = await readOversizedLine(path, start, end, signal);
  return { ...(o.members as unknown as AuditRecord), truncated: true, stored_bytes: o.bytes, omitted: o.omitted };
}

interface CursorPosition {
  /** Seq of the last record returned: the next page holds older records only. */
  seq: number;
  /** The segment (by first seq) and byte offset of that record, so the next page reads on from there. */
  segment: number;
  offset: number;
}

function encodeCursor(c: CursorPosition): string {
  return Buffer.from(`e1:${c.seq}:${c.segment}:${c.offset}`).toString('base64url');
}

function decodeCursor(cursor: string): CursorPosition {
  const m = /^e1:(\d{1,16}):(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new InvalidCursorError('invalid cursor: pass next_cursor from the previous page unchanged');
  return { seq: Number(m[1]), segment: Number(m[2]), offset: Number(m[3]) };
}
