import { join } from 'node:path';
import type { AuditBreak, AuditVerifyReport } from '../store/audit-store.js';
import { parseRecord } from '../store/embedded/audit-index.js';
import { listSegments, scanLines } from '../store/embedded/audit-segment-file.js';
import { headerHash, parseHeader, recordHash, ZERO_HASH } from './chain.js';

export interface VerifyOptions {
  /** Read at most this many bytes of the named segments (the live store passes its durable size for the active one). */
  limits?: ReadonlyMap<string, number>;
}

/**
 * Checks every segment in an audit directory: each header, each record's seq, prev_hash and hash, and the links between
 * segments. Stops at the first broken record and names it (segment file, line, seq, reason).
 */
export async function verifyAuditDir(dir: string, opts: VerifyOptions = {}): Promise<AuditVerifyReport> {
  const files = await listSegments(dir);
  const report: AuditVerifyReport = { ok: true, segments: files.length, records: 0, notes: [] };
  const fail = (broken: AuditBreak): AuditVerifyReport => ({ ...report, ok: false, broken });
  let prevLast: { seq: number; hash: string } | undefined;
  for (const [i, file] of files.entries()) {
    const isLast = i === files.length - 1;
    let expectedSeq = 0;
    let expectedPrev = '';
    let sawHeader = false;
    try {
      for await (const l of scanLines(join(dir, file), opts.limits?.get(file))) {
        if (l.line === 1) {
          const h = l.terminated ? parseHeader(l.text) : undefined;
          if (!h) {
            if (isLast && !l.terminated) break;
            return fail({ segment: file, line: 1, reason: 'bad_header', message: 'the segment header is missing or unparsable' });
          }
          sawHeader = true;
          if (prevLast) {
            if (h.first_seq !== prevLast.seq + 1) {
              return fail({ segment: file, line: 1, seq: prevLast.seq + 1, reason: 'seq_mismatch', message: `the segment starts at seq ${h.first_seq} but the previous one ends at seq ${prevLast.seq} (a segment is missing)` });
            }
            if (h.prev_segment_hash !== prevLast.hash) {
              return fail({ segment: file, line: 1, seq: h.first_seq, reason: 'segment_link_mismatch', message: `prev_segment_hash ${h.prev_segment_hash} is not the previous segment's last hash ${prevLast.hash}` });
            }
          } else if (h.first_seq === 1 && h.prev_segment_hash !== ZERO_HASH) {
            return fail({ segment: file, line: 1, seq: 1, reason: 'segment_link_mismatch', message: 'the first segment must have an all-zero prev_segment_hash' });
          } else if (h.first_seq !== 1) {
            report.notes.push(`the chain starts at seq ${h.first_seq} in ${file}: older segments were removed (retention)`);
          }
          report.first_seq ??= h.first_seq;
          expectedSeq = h.first_seq;
          expectedPrev = headerHash(h);
          continue;
        }
        if (!l.terminated && isLast) {
          report.notes.push(`${file} ends with an incomplete line (${l.end - l.start} bytes) left by an interrupted write; the store cuts it off when it opens`);
          break;
        }
        const at = { segment: file, line: l.line, seq: expectedSeq };
        const rec = parseRecord(l.text);
        if (!rec) return fail({ ...at, reason: 'unparsable', message: 'the line is not a JSON audit record' });
        if (rec.seq !== expectedSeq) return fail({ ...at, reason: 'seq_mismatch', message: `seq is ${rec.seq}, expected ${expectedSeq}` });
        if (rec.prev_hash !== expectedPrev) return fail({ ...at, reason: 'prev_hash_mismatch', message: `prev_hash ${rec.prev_hash} is not the previous record's hash ${expectedPrev}` });
        const computed = recordHash(rec.prev_hash, rec);
        if (computed !== rec.hash) return fail({ ...at, reason: 'hash_mismatch', message: `stored hash ${rec.hash}, computed ${computed}: the record was modified` });
        expectedPrev = rec.hash;
        expectedSeq++;
        report.records++;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      report.notes.push(`${file} was removed (retention) while being verified`);
      prevLast = undefined;
      continue;
    }
    if (!sawHeader) {
      if (isLast) report.notes.push(`${file} has no complete header yet (a segment being created); the store removes it when it opens`);
      else return fail({ segment: file, line: 1, reason: 'bad_header', message: 'the segment is empty' });
      continue;
    }
    prevLast = { seq: expectedSeq - 1, hash: expectedPrev };
    report.last_seq = expectedSeq - 1;
  }
  return report;
}

/** One line naming the first broken record, for the CLI and logs. */
export function formatBreak(b: AuditBreak): string {
  return `${b.segment} line ${b.line}${b.seq !== undefined ? ` (seq ${b.seq})` : ''}: ${b.reason.replaceAll('_', ' ')}: ${b.message}`;
}
