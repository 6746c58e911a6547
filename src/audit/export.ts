import { join } from 'node:path';
import { overlapsTime } from '../store/audit-filter.js';
import { loadIndex, parseRecord } from '../store/embedded/audit-index.js';
import { listSegments, openSegment, scanLines } from '../store/embedded/audit-segment-file.js';

export interface ExportOptions {
  /** Epoch ms, inclusive, on the record's `time`. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Also copy records over 1 MiB (stored before the size cap), in several pieces; otherwise each item is one whole line and those are skipped. */
  oversized?: boolean;
}

/**
 * Streams the audit records of an audit directory, oldest first, as JSONL lines (each ending in a newline) exactly as
 * stored, with seq, prev_hash and hash so a SIEM can re-check the chain. Read-only: safe while the server runs.
 */
export async function* exportAudit(dir: string, opts: ExportOptions = {}): AsyncGenerator<string> {
  const index = await loadIndex(dir);
  const timeFiltered = opts.since !== undefined || opts.until !== undefined;
  for (const file of await listSegments(dir)) {
    const known = index.get(file);
    if (known && timeFiltered && !overlapsTime(opts, known.min_time, known.max_time)) continue;
    try {
      for await (const l of scanLines(join(dir, file))) {
        if (l.line === 1) continue;
        // A line still being written (or torn by a crash) is not a record yet.
        if (!l.terminated) break;
        if (l.oversized) {
          if (!opts.oversized) continue;
          // Written before the size cap: exported byte for byte, read again in pieces rather than held.
          const t = Date.parse(String(l.oversized.members.time));
          if (opts.since !== undefined && !(t >= opts.since)) continue;
          if (opts.until !== undefined && !(t < opts.until)) continue;
          yield* readRange(join(dir, file), l.start, l.end);
          continue;
        }
        const rec = parseRecord(l.text);
        if (!rec) continue;
        const t = Date.parse(rec.time);
        if (opts.since !== undefined && !(t >= opts.since)) continue;
        if (opts.until !== undefined && !(t < opts.until)) continue;
        yield `${l.text}\n`;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function* readRange(path: string, start: number, end: number): AsyncGenerator<string> {
  const fh = await openSegment(path);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let carry = Buffer.alloc(0);
    for (let pos = start; pos < end; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      // Cut on a character boundary: keep an incomplete UTF-8 sequence for the next piece.
      const data = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
      let cut = data.length;
      while (cut > 0 && cut > data.length - 4 && (data[cut - 1]! & 0xc0) === 0x80) cut--;
      if (cut > 0 && data[cut - 1]! >= 0xc0) cut--;
      yield data.toString('utf8', 0, cut);
      carry = Buffer.from(data.subarray(cut));
    }
    if (carry.length) yield carry.toString('utf8');
  } finally {
    await fh.close();
  }
}
