import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHeader } from '../../audit/chain.js';
import { listSegments, openSegment, QUARANTINE_DIR, readOversizedLine, segmentFirstSeq, type SegmentReader } from '../embedded/audit-segment-file.js';

/** One local record as the shipper sends it: its chain position and its stored line, unchanged (so its hash verifies). */
export interface LocalRecord {
  seq: number;
  hash: string;
  time: string;
  /** First seq of the segment that holds it (names the segment). */
  segment: number;
  line: string;
}

export interface LocalBatch {
  records: LocalRecord[];
  /** Headers of segments entered while reading (first_seq → header line). */
  headers: Array<[number, string]>;
  /** Seqs skipped because retention removed them before they were shipped (or recovery cut them). */
  gaps: Array<{ from: number; to: number }>;
  bytes: number;
}

const CHUNK = 1 << 20;
/** A legacy line (from before records were capped) longer than this ships as a stub that keeps its chain position. */
const MAX_SHIPPED_LINE = 8 << 20;

/** A file holding part of the chain: a segment, or the intact prefix of one recovery quarantined (still shown by queries). */
interface Source {
  /** Path under the audit directory. */
  name: string;
  first: number;
  /** For a quarantined segment: read only its intact prefix. */
  limitBytes?: number;
  maxSeq?: number;
}

/** Segments and quarantined prefixes, in chain order. */
async function listSources(dir: string): Promise<Source[]> {
  const out: Source[] = (await listSegments(dir)).map((f) => ({ name: f, first: firstSeqOf(f) }));
  let notes: string[] = [];
  try {
    notes = (await readdir(join(dir, QUARANTINE_DIR))).filter((n) => n.endsWith('.json'));
  } catch {
    // No quarantine.
  }
  for (const n of notes) {
    try {
      const note = JSON.parse(await readFile(join(dir, QUARANTINE_DIR, n), 'utf8')) as { segment?: string; prefix?: { first_seq: number; last_seq: number; bytes: number } };
      const p = note.prefix;
      if (!note.segment || !p || !(p.last_seq >= p.first_seq)) continue;
      out.push({ name: note.segment, first: p.first_seq, limitBytes: p.bytes, maxSeq: p.last_seq });
    } catch {
      // An unreadable note: the store reports it; its segment is not shipped.
    }
  }
  return out.sort((a, b) => a.first - b.first);
}

/**
 * Reads a replica's local audit segments forward from a seq, only records the store has made durable (at most
 * `durableSeq`: bytes past it may be an unfinished or failed group commit that will be rewritten). Read-only: never
 * touches the store's files or state.
 */
export class LocalAuditReader {
  private file: string | undefined;
  private segFirst = 0;
  private limitBytes = Number.POSITIVE_INFINITY;
  private maxSeq = Number.POSITIVE_INFINITY;
  private offset = 0;
  private nextSeq = 1;

  constructor(private readonly dir: string) {}

  /** The next `read` starts at the record with this seq (or the first one after it that still exists). */
  seek(seq: number): void {
    this.nextSeq = seq;
    this.file = undefined;
  }

  get position(): number {
    return this.nextSeq;
  }

  /** The oldest seq still held locally (retention removes old segments), or undefined when there is none. */
  async lowestSeq(): Promise<number | undefined> {
    const sources = await listSources(this.dir);
    return sources.length ? sources[0]!.first : undefined;
  }

  async read(durableSeq: number, maxRecords: number, maxBytes: number): Promise<LocalBatch> {
    const batch: LocalBatch = { records: [], headers: [], gaps: [], bytes: 0 };
    while (batch.records.length < maxRecords && batch.bytes < maxBytes && this.nextSeq <= durableSeq) {
      if (!this.file && !(await this.locate(batch))) break;
      const more = await this.readFile(batch, durableSeq, maxRecords, maxBytes);
      if (more === 'full' || more === 'durable') break;
      // End of this file: the next record is in a later segment, if one exists yet.
      const later = (await listSources(this.dir)).find((f) => f.first > this.segFirst);
      if (!later) break;
      this.open(later, batch);
    }
    return batch;
  }

  /** Finds the segment holding `nextSeq`; false when none does yet. */
  private async locate(batch: LocalBatch): Promise<boolean> {
    const sources = await listSources(this.dir);
    if (sources.length === 0) return false;
    let pick = sources[0]!;
    for (const f of sources) if (f.first <= this.nextSeq) pick = f;
    this.open(pick, batch);
    return true;
  }

  private open(source: Source, batch: LocalBatch): void {
    this.file = source.name;
    this.segFirst = source.first;
    this.limitBytes = source.limitBytes ?? Number.POSITIVE_INFINITY;
    this.maxSeq = source.maxSeq ?? Number.POSITIVE_INFINITY;
    this.offset = 0;
    if (this.segFirst > this.nextSeq) {
      batch.gaps.push({ from: this.nextSeq, to: this.segFirst - 1 });
      this.nextSeq = this.segFirst;
    }
  }

  private async readFile(batch: LocalBatch, durableSeq: number, maxRecords: number, maxBytes: number): Promise<'eof' | 'full' | 'durable'> {
    const path = join(this.dir, this.file!);
    let fh;
    try {
      fh = await openSegment(path);
    } catch (err) {
      // Retention removed it, or recovery quarantined it: find where the chain goes on.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.file = undefined;
      return (await this.locate(batch)) ? this.readFile(batch, durableSeq, maxRecords, maxBytes) : 'eof';
    }
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let carry: Buffer | undefined;
      for (;;) {
        const pos = this.offset + (carry?.length ?? 0);
        const want = Math.min(CHUNK, this.limitBytes - pos);
        const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, pos) : { bytesRead: 0 };
        if (bytesRead === 0) return 'eof';
        const data = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        carry = undefined;
        let from = 0;
        for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
          const text = data.toString('utf8', from, nl);
          const start = this.offset;
          if (start === 0) {
            if (parseHeader(text)) batch.headers.push([this.segFirst, text]);
          } else {
            const r = parseLine(text, this.segFirst);
            if (r && r.seq >= this.nextSeq && r.seq <= this.maxSeq) {
              if (r.seq > durableSeq) return 'durable';
              if (r.seq > this.nextSeq) batch.gaps.push({ from: this.nextSeq, to: r.seq - 1 });
              batch.records.push(r);
              batch.bytes += text.length;
              this.nextSeq = r.seq + 1;
            }
          }
          this.offset = start + (nl - from) + 1;
          from = nl + 1;
          if (batch.records.length >= maxRecords || batch.bytes >= maxBytes) return 'full';
        }
        const rest = data.subarray(from);
        if (rest.length >= MAX_SHIPPED_LINE) {
          const r = await this.oversized(fh, path, durableSeq);
          if (r === 'incomplete') return 'eof';
          if (r === 'durable') return 'durable';
          if (r.record.seq >= this.nextSeq) {
            batch.records.push(r.record);
            batch.bytes += r.record.line.length;
            this.nextSeq = r.record.seq + 1;
          }
          this.offset = r.end;
          continue;
        }
        carry = Buffer.from(rest);
      }
    } finally {
      await fh.close();
    }
  }

  /** A legacy line too long to ship whole: a stub with its chain members, marked, so the chain stays walkable. */
  private async oversized(fh: SegmentReader, path: string, durableSeq: number): Promise<{ record: LocalRecord; end: number } | 'incomplete' | 'durable'> {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = this.offset;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) return 'incomplete';
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) {
        const end = pos + nl;
        const o = await readOversizedLine(path, this.offset, end);
        const m = o.members as { seq?: number; hash?: string; prev_hash?: string; time?: string };
        if (typeof m.seq !== 'number' || typeof m.hash !== 'string') return { record: { seq: -1, hash: '', time: '', segment: this.segFirst, line: '' }, end: end + 1 };
        if (m.seq > durableSeq) return 'durable';
        const stub = JSON.stringify({ ...o.members, truncated: true, stored_bytes: o.bytes, omitted: o.omitted, shipped_stub: true });
        return { record: { seq: m.seq, hash: m.hash, time: m.time ?? '', segment: this.segFirst, line: stub }, end: end + 1 };
      }
      pos += bytesRead;
    }
  }
}

function firstSeqOf(file: string): number {
  return segmentFirstSeq(file);
}

/** Seq, time and hash of a stored line without a full parse: canonical JSON puts `hash` last and has no spaces. */
export function parseLine(text: string, segment: number): LocalRecord | undefined {
  const end = text.length - 2;
  if (end < 73 || !text.endsWith('"}') || !text.startsWith(',"hash":"', end - 73)) return undefined;
  const hash = text.slice(end - 64, end);
  const s = text.indexOf('"seq":');
  const t = text.indexOf('"time":"');
  if (s === -1 || t === -1) return undefined;
  const seq = Number(/^\d+/.exec(text.slice(s + 6, s + 24))?.[0]);
  const time = text.slice(t + 8, text.indexOf('"', t + 8));
  if (!Number.isSafeInteger(seq)) return undefined;
  return { seq, hash, time, segment, line: text };
}
