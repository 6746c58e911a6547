import { join } from 'node:path';
import { overlapsTime } from '../store/audit-filter.js';
import { loadIndex, parseRecord } from '../store/embedded/audit-index.js';
import { listSegments, scanLines } from '../store/embedded/audit-segment-file.js';

export interface ExportOptions {
  /** Epoch ms, inclusive, on the record's `time`. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
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
