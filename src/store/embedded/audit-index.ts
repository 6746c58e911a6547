import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { headerHash, parseHeader, recordHash, type SegmentHeader } from '../../audit/chain.js';
import { writeFileAtomic } from './atomic-file.js';
import type { AuditBreakReason } from '../audit-store.js';
import { scanLines, type SegmentLine } from './audit-segment-file.js';

/** What the store remembers about a segment so that queries can skip it and a restart need not rescan it. */
export interface SegmentInfo {
  file: string;
  first_seq: number;
  /** `first_seq - 1` while the segment holds no record. */
  last_seq: number;
  /** Earliest and latest record `time` (epoch ms); null while empty. Records are in append order, not time order. */
  min_time: number | null;
  max_time: number | null;
  /** Length of the segment's JSONL (uncompressed): queries and cursors address records by offsets into it. */
  bytes: number;
  /** Size on disk of a compressed (`.jsonl.gz`) segment; absent while plain (then `bytes` is its size on disk). */
  stored_bytes?: number;
  /** Hash of the last record, or the header's hash while empty: the next record's `prev_hash`. */
  last_hash: string;
  /** Epoch ms the segment was created and sealed (rotated out); retention goes by `sealed`. */
  created: number;
  sealed?: number;
}

const INDEX_FILE = 'index.json';

/** Loads the sealed-segment index; a missing or unreadable index is an empty one (segments are rescanned). */
export async function loadIndex(dir: string): Promise<Map<string, SegmentInfo>> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as { segments?: SegmentInfo[] };
    return new Map((parsed.segments ?? []).map((s) => [s.file, s]));
  } catch {
    return new Map();
  }
}

export async function saveIndex(dir: string, segments: readonly SegmentInfo[]): Promise<void> {
  await writeFileAtomic(join(dir, INDEX_FILE), `${JSON.stringify({ version: 1, segments })}\n`);
}

/** The first line of a segment that is neither an intact chained record nor a torn tail: evidence to keep, not cut. */
export interface SegmentDamage {
  /** 1-based line (line 1 is the header). */
  line: number;
  /** The seq the record at that line should have. */
  seq?: number;
  reason: AuditBreakReason;
  message: string;
}

export interface SegmentScan {
  header: SegmentHeader | undefined;
  /** The intact, chained prefix of the segment. */
  info: SegmentInfo;
  /** Byte offset just past the last intact record (or the header): where appending continues. */
  goodEnd: number;
  /** The last intact record lacks its newline (the crash hit between the record and its newline). */
  missingNewline: boolean;
  /** A torn tail after the intact prefix (an incomplete last line, or zero bytes a crash left): safe to cut. */
  torn?: { bytes: number; lines: number };
  /** Set when something after the intact prefix is not a torn tail: the segment must be kept as it is. */
  damage?: SegmentDamage;
  /** The file holds nothing but an incomplete first line: a segment whose creation was cut short. */
  tornHeader: boolean;
  size: number;
}

/** A line made only of zero bytes: what a crash can leave where the file grew but data never reached the disk. */
function isZeroFill(text: string): boolean {
  return /^\0*$/.test(text);
}

/**
 * Reads a segment to learn its seq/time range and its intact prefix: records that parse, carry the next seq and the
 * previous record's hash, and whose own hash checks out. Only an incomplete last line (or zero fill) counts as torn.
 */
export async function scanSegment(path: string, file: string): Promise<SegmentScan> {
  let header: SegmentHeader | undefined;
  let goodEnd = 0;
  let goodLine = 0;
  let missingNewline = false;
  let size = 0;
  let lines = 0;
  let damage: SegmentDamage | undefined;
  let garbage: { line: number; start: number } | undefined;
  let tornHeader = false;
  let last: { seq: number; hash: string } | undefined;
  let expectedPrev = '';
  let minTime: number | null = null;
  let maxTime: number | null = null;
  try {
    for await (const l of scanLines(path, { hashSeed: () => expectedPrev })) {
      size = l.end;
      lines = l.line;
      if (damage) continue;
      if (l.line === 1) {
        header = l.terminated && !l.oversized ? parseHeader(l.text) : undefined;
        if (!header) {
          if (!l.terminated && l.end < 4096) tornHeader = true;
          else damage = { line: 1, reason: 'bad_header', message: 'the segment header is missing or unparsable' };
          continue;
        }
        goodEnd = l.end;
        goodLine = 1;
        expectedPrev = headerHash(header);
        continue;
      }
      const text = l.oversized ? '' : l.text;
      if (!l.oversized && isZeroFill(text)) {
        garbage ??= { line: l.line, start: l.start };
        continue;
      }
      const seq = (last?.seq ?? header!.first_seq - 1) + 1;
      const check = checkLine(l, expectedPrev, seq);
      if (!check.ok && !l.terminated && !(l.oversized ? l.oversized.wellFormed : parseRecord(text))) {
        // An incomplete last line: the write the crash interrupted (never acknowledged). A strict prefix of a record never parses.
        garbage ??= { line: l.line, start: l.start };
        continue;
      }
      if (garbage) {
        damage = { line: garbage.line, seq, reason: 'unparsable', message: 'zero bytes before an intact line' };
        continue;
      }
      if (!check.ok) {
        damage = { line: l.line, seq, reason: check.reason, message: check.message };
        continue;
      }
      goodEnd = l.end;
      goodLine = l.line;
      missingNewline = !l.terminated;
      const { hash, time } = check;
      last = { seq, hash };
      expectedPrev = hash;
      const t = Date.parse(time);
      if (Number.isFinite(t)) {
        if (minTime === null || t < minTime) minTime = t;
        if (maxTime === null || t > maxTime) maxTime = t;
      }
    }
  } catch (err) {
    // A compressed segment whose gzip stream is damaged: evidence, kept in place and reported like any other damage.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !code.startsWith('Z_')) throw err;
    damage ??= { line: lines + 1, reason: 'unparsable', message: `the compressed segment is damaged after line ${lines}: ${(err as Error).message}` };
  }
  const firstSeq = header?.first_seq ?? 0;
  const info: SegmentInfo = {
    file,
    first_seq: firstSeq,
    last_seq: last?.seq ?? firstSeq - 1,
    min_time: minTime,
    max_time: maxTime,
    bytes: goodEnd + (missingNewline ? 1 : 0),
    last_hash: last?.hash ?? (header ? headerHash(header) : ''),
    created: header ? Date.parse(header.created) : 0,
  };
  const torn = !damage && header && goodEnd < size ? { bytes: size - goodEnd, lines: lines - goodLine } : undefined;
  return { header, info, goodEnd, missingNewline, torn, damage, tornHeader: tornHeader && !damage, size };
}

export type LineCheck = { ok: true; hash: string; time: string } | ({ ok: false } & Omit<SegmentDamage, 'line' | 'seq'>);

/** Whether a line is the intact record `seq` chained to `expectedPrev` (and its hash and time), or why not. */
export function checkLine(l: SegmentLine, expectedPrev: string, seq: number): LineCheck {
  if (l.oversized) {
    const o = l.oversized;
    const m = o.members;
    if (!o.wellFormed || !o.suffixOk || typeof m.hash !== 'string' || typeof m.prev_hash !== 'string' || typeof m.time !== 'string' || !Number.isSafeInteger(m.seq)) {
      return { ok: false, reason: 'unparsable', message: `the line (${o.bytes} bytes) is not a JSON audit record` };
    }
    if (m.seq !== seq) return { ok: false, reason: 'seq_mismatch', message: `seq is ${String(m.seq)}, expected ${seq}` };
    if (m.prev_hash !== expectedPrev) return { ok: false, reason: 'prev_hash_mismatch', message: `prev_hash ${m.prev_hash} is not the previous record's hash ${expectedPrev}` };
    if (o.computedHash !== m.hash) return { ok: false, reason: 'hash_mismatch', message: `stored hash ${m.hash}, computed ${o.computedHash}: the record was modified` };
    return { ok: true, hash: m.hash, time: m.time };
  }
  const rec = parseRecord(l.text);
  if (!rec) return { ok: false, reason: 'unparsable', message: 'the line is not a JSON audit record' };
  if (rec.seq !== seq) return { ok: false, reason: 'seq_mismatch', message: `seq is ${rec.seq}, expected ${seq}` };
  if (rec.prev_hash !== expectedPrev) return { ok: false, reason: 'prev_hash_mismatch', message: `prev_hash ${rec.prev_hash} is not the previous record's hash ${expectedPrev}` };
  const computed = recordHash(rec.prev_hash, rec);
  if (computed !== rec.hash) return { ok: false, reason: 'hash_mismatch', message: `stored hash ${rec.hash}, computed ${computed}: the record was modified` };
  return { ok: true, hash: rec.hash, time: rec.time };
}

type ParsedRecord = Record<string, unknown> & { seq: number; time: string; prev_hash: string; hash: string };

export function parseRecord(text: string): ParsedRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ParsedRecord> | null;
    if (!r || typeof r !== 'object' || !Number.isSafeInteger(r.seq) || typeof r.hash !== 'string' || typeof r.prev_hash !== 'string' || typeof r.time !== 'string') return undefined;
    return r as ParsedRecord;
  } catch {
    return undefined;
  }
}
