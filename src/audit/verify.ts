import { join } from 'node:path';
import type { AuditBreak, AuditVerifyReport } from '../store/audit-store.js';
import { checkLine } from '../store/embedded/audit-index.js';
import { COMPRESSED_SUFFIX, isCompressed, listQuarantined, listSegments, QUARANTINE_DIR, scanLines, type SegmentLine } from '../store/embedded/audit-segment-file.js';
import { headerHash, parseHeader, ZERO_HASH } from './chain.js';

export interface VerifyOptions {
  /** Read at most this many bytes of the named segments (the live store passes its durable size for the active one). */
  limits?: ReadonlyMap<string, number>;
  signal?: AbortSignal;
}

interface ChainEnd {
  seq: number;
  hash: string;
}

interface SegmentResult {
  broken?: AuditBreak;
  /** The end of the intact part: where the chain goes on. */
  last?: ChainEnd;
  firstSeq?: number;
  records: number;
  sawHeader: boolean;
}

/**
 * Checks every segment in an audit directory: each header, each record's seq, prev_hash and hash, and the links between
 * segments. Stops at the first broken record and names it (segment file, line, seq, reason). Segments that recovery
 * quarantined are checked in their place in the chain; each one's damage fails the verification and is listed. Reads
 * line by line in bounded memory, whatever the size of a segment or a record.
 */
export async function verifyAuditDir(dir: string, opts: VerifyOptions = {}): Promise<AuditVerifyReport> {
  const files = await listSegments(dir);
  const quarantined = await listQuarantined(dir);
  const report: AuditVerifyReport = { ok: true, segments: files.length, records: 0, notes: [] };
  const damaged: AuditBreak[] = [];
  const finish = (broken?: AuditBreak): AuditVerifyReport => {
    const out: AuditVerifyReport = { ...report, ok: !broken && damaged.length === 0 };
    if (broken) out.broken = broken;
    if (damaged.length) out.quarantined = damaged;
    return out;
  };
  let prevLast: ChainEnd | undefined;
  let q = 0;
  for (const [i, file] of files.entries()) {
    const fileSeq = Number(/(\d{16})/.exec(file)![1]);
    // Quarantined segments sit in the chain before the segment that replaced them.
    for (; q < quarantined.length && quarantined[q]!.firstSeq <= fileSeq; q++) {
      const name = `${QUARANTINE_DIR}/${quarantined[q]!.name}`;
      const r = await walkSegment(join(dir, name), name, prevLast, { isLast: false, first: report.first_seq === undefined, signal: opts.signal });
      report.records += r.records;
      if (r.firstSeq !== undefined) report.first_seq ??= r.firstSeq;
      damaged.push(r.broken ?? { segment: name, line: 1, reason: 'unparsable', message: 'quarantined by recovery' });
      if (r.last) prevLast = r.last;
    }
    const isLast = i === files.length - 1;
    let r: SegmentResult;
    const walk = (name: string) => walkSegment(join(dir, name), name, prevLast, { isLast, limit: opts.limits?.get(name), first: report.first_seq === undefined, notes: report.notes, signal: opts.signal });
    try {
      try {
        r = await walk(file);
      } catch (err) {
        // Compressed (sealed segments are gzipped in the background) while being verified: read the compressed copy.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || isCompressed(file)) throw err;
        r = await walk(file + COMPRESSED_SUFFIX);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      report.notes.push(`${file} was removed (retention) while being verified`);
      prevLast = undefined;
      continue;
    }
    report.records += r.records;
    if (r.firstSeq !== undefined) report.first_seq ??= r.firstSeq;
    if (r.broken) return finish(r.broken);
    if (!r.sawHeader) {
      if (isLast) report.notes.push(`${file} has no complete header yet (a segment being created); the store removes it when it opens`);
      else return finish({ segment: file, line: 1, reason: 'bad_header', message: 'the segment is empty' });
      continue;
    }
    prevLast = r.last;
    report.last_seq = r.last!.seq;
  }
  for (; q < quarantined.length; q++) {
    const name = `${QUARANTINE_DIR}/${quarantined[q]!.name}`;
    const r = await walkSegment(join(dir, name), name, prevLast, { isLast: false, first: report.first_seq === undefined, signal: opts.signal });
    report.records += r.records;
    damaged.push(r.broken ?? { segment: name, line: 1, reason: 'unparsable', message: 'quarantined by recovery' });
  }
  return finish();
}

async function walkSegment(
  path: string,
  file: string,
  prevLast: ChainEnd | undefined,
  o: { isLast: boolean; first: boolean; limit?: number; notes?: string[]; signal?: AbortSignal },
): Promise<SegmentResult> {
  const res: SegmentResult = { records: 0, sawHeader: false };
  let expectedSeq = 0;
  let expectedPrev = '';
  const fail = (broken: AuditBreak): SegmentResult => ({ ...res, broken, last: res.sawHeader ? { seq: expectedSeq - 1, hash: expectedPrev } : prevLast });
  let lastLine = 0;
  try {
    for await (const l of scanLines(path, { limit: o.limit, hashSeed: () => expectedPrev, signal: o.signal })) {
      lastLine = l.line;
      const stop = step(l);
      if (stop === 'break') break;
      if (stop) return stop;
    }
  } catch (err) {
    // A compressed segment whose gzip stream is damaged (a flipped byte fails its CRC, a cut file ends early).
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !code.startsWith('Z_')) throw err;
    return fail({ segment: file, line: lastLine + 1, ...(res.sawHeader ? { seq: expectedSeq } : {}), reason: 'unparsable', message: `the compressed segment is damaged after line ${lastLine}: ${(err as Error).message}` });
  }
  if (res.sawHeader) res.last = { seq: expectedSeq - 1, hash: expectedPrev };
  return res;

  function step(l: SegmentLine): SegmentResult | 'break' | undefined {
    if (l.line === 1) {
      const h = l.terminated && !l.oversized ? parseHeader(l.text) : undefined;
      if (!h) {
        if (o.isLast && !l.terminated) return 'break';
        return fail({ segment: file, line: 1, reason: 'bad_header', message: 'the segment header is missing or unparsable' });
      }
      if (prevLast) {
        if (h.first_seq !== prevLast.seq + 1) {
          return fail({ segment: file, line: 1, seq: prevLast.seq + 1, reason: 'seq_mismatch', message: `the segment starts at seq ${h.first_seq} but the previous one ends at seq ${prevLast.seq} (a segment is missing)` });
        }
        if (h.prev_segment_hash !== prevLast.hash) {
          return fail({ segment: file, line: 1, seq: h.first_seq, reason: 'segment_link_mismatch', message: `prev_segment_hash ${h.prev_segment_hash} is not the previous segment's last hash ${prevLast.hash}` });
        }
      } else if (h.first_seq === 1 && h.prev_segment_hash !== ZERO_HASH) {
        return fail({ segment: file, line: 1, seq: 1, reason: 'segment_link_mismatch', message: 'the first segment must have an all-zero prev_segment_hash' });
      } else if (h.first_seq !== 1 && o.first) {
        o.notes?.push(`the chain starts at seq ${h.first_seq} in ${file}: older segments were removed (retention)`);
      }
      res.sawHeader = true;
      res.firstSeq = h.first_seq;
      expectedSeq = h.first_seq;
      expectedPrev = headerHash(h);
      return undefined;
    }
    if (!l.terminated && o.isLast) {
      o.notes?.push(`${file} ends with an incomplete line (${l.end - l.start} bytes) left by an interrupted write; the store cuts it off when it opens`);
      return 'break';
    }
    const check = checkLine(l, expectedPrev, expectedSeq);
    if (!check.ok) return fail({ segment: file, line: l.line, seq: expectedSeq, reason: check.reason, message: check.message });
    expectedPrev = check.hash;
    expectedSeq++;
    res.records++;
    return undefined;
  }
}

/** One line naming the first broken record, for the CLI and logs. */
export function formatBreak(b: AuditBreak): string {
  return `${b.segment} line ${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ''}: ${b.reason.replaceAll('_', ' ')}: ${b.message}`;
}
