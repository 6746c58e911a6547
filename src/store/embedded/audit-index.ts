import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { headerHash, parseHeader, recordHash, type SegmentHeader } from '../../audit/chain.js';
import { writeFileAtomic } from './atomic-file.js';
import { scanLines } from './audit-segment-file.js';

/** What the store remembers about a segment so that queries can skip it and a restart need not rescan it. */
export interface SegmentInfo {
  file: string;
  first_seq: number;
  /** `first_seq - 1` while the segment holds no record. */
  last_seq: number;
  /** Earliest and latest record `time` (epoch ms); null while empty. Records are in append order, not time order. */
  min_time: number | null;
  max_time: number | null;
  bytes: number;
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

export interface SegmentScan {
  header: SegmentHeader | undefined;
  info: SegmentInfo;
  /** Byte offset just past the last intact record (or the header): where appending continues. */
  goodEnd: number;
  /** The last intact record lacks its newline (the crash hit between the record and its newline). */
  missingNewline: boolean;
  /** Lines after the last intact record: torn or garbage, cut off by recovery. */
  trailingBadLines: number;
  size: number;
}

/** Reads a segment to learn its seq/time range and last intact record; "intact" = parses and its own hash checks out. */
export async function scanSegment(path: string, file: string): Promise<SegmentScan> {
  let header: SegmentHeader | undefined;
  let goodEnd = 0;
  let missingNewline = false;
  let trailingBadLines = 0;
  let size = 0;
  let last: { seq: number; hash: string } | undefined;
  let minTime: number | null = null;
  let maxTime: number | null = null;
  for await (const l of scanLines(path)) {
    size = l.end;
    if (l.line === 1) {
      header = l.terminated ? parseHeader(l.text) : undefined;
      if (!header) break;
      goodEnd = l.end;
      continue;
    }
    const rec = parseRecord(l.text);
    if (!rec || recordHash(rec.prev_hash, rec) !== rec.hash) {
      trailingBadLines++;
      continue;
    }
    trailingBadLines = 0;
    goodEnd = l.end;
    missingNewline = !l.terminated;
    last = { seq: rec.seq, hash: rec.hash };
    const t = Date.parse(rec.time);
    if (Number.isFinite(t)) {
      if (minTime === null || t < minTime) minTime = t;
      if (maxTime === null || t > maxTime) maxTime = t;
    }
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
  return { header, info, goodEnd, missingNewline, trailingBadLines, size };
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
