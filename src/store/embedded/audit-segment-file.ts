import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { OversizedLineReader, type OversizedLine } from './audit-line-scan.js';

/**
 * Segment files are named by the seq of their first record, zero-padded so that name order is log order. A sealed
 * segment may be gzip-compressed (`.jsonl.gz`, format version 1 unchanged inside: the same bytes, so the same hashes).
 */
const SEGMENT_RE = /^audit-(\d{16})\.jsonl(\.gz)?$/;
export const COMPRESSED_SUFFIX = '.gz';

export function segmentName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

export function isCompressed(file: string): boolean {
  return file.endsWith(COMPRESSED_SUFFIX);
}

/** The first seq a segment's name (plain or compressed) carries; 0 for a foreign name. */
export function segmentFirstSeq(file: string): number {
  return Number(SEGMENT_RE.exec(file.slice(file.lastIndexOf('/') + 1))?.[1] ?? '0');
}

/**
 * Segment file names in `dir`, oldest first; empty when the directory does not exist. When a segment exists both plain
 * and compressed (a crash between the compressed copy's rename and the plain file's removal), the compressed one is
 * listed: it was renamed into place only once complete and fsynced.
 */
export async function listSegments(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const set = new Set(names);
  return names.filter((n) => SEGMENT_RE.test(n) && !(!isCompressed(n) && set.has(n + COMPRESSED_SUFFIX))).sort();
}

/** The read side of a segment, plain or compressed, by byte offset into its (uncompressed) JSONL. */
export interface SegmentReader {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

const gunzipAsync = promisify(gunzip);
/** The last compressed segment decompressed, kept briefly: a reader paging through it (queries, the shipper) decompresses it once. */
let lastInflated: { path: string; mtimeMs: number; size: number; data: Promise<Buffer>; timer: NodeJS.Timeout } | undefined;

async function inflated(path: string): Promise<Buffer> {
  const st = await stat(path);
  const hit = lastInflated;
  if (hit && hit.path === path && hit.mtimeMs === st.mtimeMs && hit.size === st.size) {
    hit.timer.refresh();
    return hit.data;
  }
  if (hit) clearTimeout(hit.timer);
  // Decompressed on libuv's thread pool, not the event loop.
  const data = readFile(path).then((z) => gunzipAsync(z));
  const timer = setTimeout(() => {
    if (lastInflated?.data === data) lastInflated = undefined;
  }, 5000);
  timer.unref();
  lastInflated = { path, mtimeMs: st.mtimeMs, size: st.size, data, timer };
  data.catch(() => {
    if (lastInflated?.data === data) lastInflated = undefined;
  });
  return data;
}

/** Opens a segment for reads at byte offsets: a file handle, or for a compressed segment its decompressed bytes. */
export async function openSegment(path: string): Promise<SegmentReader> {
  if (!isCompressed(path)) {
    const fh = await open(path, 'r');
    return { read: (b, o, l, p) => fh.read(b, o, l, p), close: () => fh.close() };
  }
  const data = await inflated(path);
  return {
    read: (b, o, l, p) => {
      const n = Math.max(0, Math.min(l, data.length - p));
      if (n > 0) data.copy(b, o, p, p + n);
      return Promise.resolve({ bytesRead: n });
    },
    close: () => Promise.resolve(),
  };
}

/** A segment's bytes front to back in chunks, up to `limit`: read from the file, or streamed through gunzip (bounded memory). */
async function* segmentChunks(path: string, limit: number, buf: Buffer): AsyncGenerator<Buffer> {
  if (isCompressed(path)) {
    let pos = 0;
    for await (const chunk of createReadStream(path).pipe(createGunzip({ chunkSize: 1 << 16 })) as AsyncIterable<Buffer>) {
      if (pos >= limit) return;
      const piece = pos + chunk.length > limit ? chunk.subarray(0, limit - pos) : chunk;
      pos += piece.length;
      yield piece;
    }
    return;
  }
  const fh = await open(path, 'r');
  try {
    let pos = 0;
    for (;;) {
      const want = Math.min(buf.length, limit - pos);
      const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, pos) : { bytesRead: 0 };
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Damaged segments are moved here whole, never deleted; `tollgate audit verify` reports each. */
export const QUARANTINE_DIR = 'quarantine';
const QUARANTINED_RE = /^(\d+)-(audit-(\d{16})\.jsonl)$/;

export function quarantineName(at: number, file: string): string {
  return `${at}-${file}`;
}

/** Quarantined segment files in `dir/quarantine`, with the name and first seq they had; in order of their first seq, then time. */
export async function listQuarantined(dir: string): Promise<Array<{ name: string; original: string; firstSeq: number; at: number }>> {
  let names: string[];
  try {
    names = await readdir(join(dir, QUARANTINE_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ name: string; original: string; firstSeq: number; at: number }> = [];
  for (const name of names) {
    const m = QUARANTINED_RE.exec(name);
    if (m) out.push({ name, original: m[2]!, firstSeq: Number(m[3]), at: Number(m[1]) });
  }
  return out.sort((x, y) => x.firstSeq - y.firstSeq || x.at - y.at);
}

export function segmentPath(dir: string, name: string): string {
  return join(dir, name);
}

export interface SegmentLine {
  /** The line without its newline; empty when `oversized` (the line was too long to hold, see there). */
  text: string;
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just past the line (and its newline, when terminated). */
  end: number;
  /** 1-based. */
  line: number;
  /** False for a final line without its newline: a write cut short. */
  terminated: boolean;
  /** Set for a line longer than `maxLineBytes`: read in one streaming pass, never held whole. */
  oversized?: OversizedLine;
}

export interface ScanOptions {
  /** Read at most up to this byte (default: the whole file). */
  limit?: number;
  /** Lines longer than this are streamed, not held (default 1 MiB; records are capped at 64 KiB when written). */
  maxLineBytes?: number;
  /** For an oversized line, the `prev_hash` its chain hash should be computed from. */
  hashSeed?: () => string | undefined;
  signal?: AbortSignal;
}

/** Lines longer than this are read in a streaming pass rather than held in memory. */
export const MAX_LINE_BYTES = 1 << 20;
const CHUNK = 1 << 20;

/**
 * Reads a segment front to back, one line at a time, in bounded memory: a line longer than `maxLineBytes` is never held
 * whole (no quadratic re-copying, no giant string) but streamed through an `OversizedLineReader`.
 */
export async function* scanLines(path: string, opts: ScanOptions | number = {}): AsyncGenerator<SegmentLine> {
  const o = typeof opts === 'number' ? { limit: opts } : opts;
  const limit = o.limit ?? Number.POSITIVE_INFINITY;
  const maxLine = o.maxLineBytes ?? MAX_LINE_BYTES;
  {
    let pos = 0;
    let line = 0;
    // The current line so far: held parts, or a streaming reader once it outgrew maxLine.
    let parts: Buffer[] = [];
    let partBytes = 0;
    let lineStart = 0;
    let big: OversizedLineReader | undefined;
    const buf = Buffer.allocUnsafe(CHUNK);
    const feed = (piece: Buffer) => {
      if (big) return big.push(piece);
      if (partBytes + piece.length <= maxLine) {
        parts.push(Buffer.from(piece));
        partBytes += piece.length;
        return;
      }
      big = new OversizedLineReader(o.hashSeed?.());
      for (const p of parts) big.push(p);
      big.push(piece);
      parts = [];
      partBytes = 0;
    };
    const emit = (end: number, terminated: boolean): SegmentLine => {
      line++;
      const out: SegmentLine = big
        ? { text: '', start: lineStart, end, line, terminated, oversized: big.finish() }
        : { text: (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8'), start: lineStart, end, line, terminated };
      parts = [];
      partBytes = 0;
      big = undefined;
      lineStart = end;
      return out;
    };
    for await (const data of segmentChunks(path, limit, buf)) {
      if (o.signal?.aborted) throw o.signal.reason;
      const bytesRead = data.length;
      let from = 0;
      for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
        feed(data.subarray(from, nl));
        yield emit(pos + nl + 1, true);
        from = nl + 1;
      }
      if (from < data.length) feed(data.subarray(from));
      pos += bytesRead;
    }
    if (partBytes > 0 || big) yield emit(pos, false);
  }
}

const BACK_CHUNK = 256 * 1024;

export interface BackwardLine {
  text: string;
  start: number;
  /** Set for a line longer than `maxLineBytes`: its text is not read; `end` is where it stops (its newline excluded). */
  oversized?: { end: number };
}

/**
 * Reads complete lines back to front from byte `end` (exclusive, on a line boundary) down to byte `floor`. A line longer
 * than `maxLineBytes` is skipped over without being held and yielded as `oversized` with its bounds.
 */
export async function* linesBackward(path: string, end: number, floor = 0, opts: { maxLineBytes?: number; signal?: AbortSignal } = {}): AsyncGenerator<BackwardLine> {
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const fh = await openSegment(path);
  try {
    let pos = end;
    let tail = Buffer.alloc(0);
    // While skipping an oversized line: the offset where it ends (its newline, or `end`).
    let skippingTo: number | undefined;
    while (pos > floor) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const size = Math.min(BACK_CHUNK, pos - floor);
      pos -= size;
      const chunk = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(chunk, 0, size, pos);
      let data: Buffer;
      if (skippingTo !== undefined) {
        const nl = chunk.lastIndexOf(10, bytesRead - 1);
        if (nl === -1) {
          if (pos === floor) yield { text: '', start: pos, oversized: { end: skippingTo } };
          continue;
        }
        yield { text: '', start: pos + nl + 1, oversized: { end: skippingTo } };
        skippingTo = undefined;
        data = chunk.subarray(0, nl + 1);
      } else {
        data = tail.length ? Buffer.concat([chunk.subarray(0, bytesRead), tail]) : chunk.subarray(0, bytesRead);
      }
      // data covers [pos, start of the earliest line yielded so far) and ends with that previous line's newline
      let stop = data.length;
      if (data[stop - 1] === 10) stop--;
      while (stop > 0) {
        const nl = data.lastIndexOf(10, stop - 1);
        if (nl === -1) break;
        yield { text: data.toString('utf8', nl + 1, stop), start: pos + nl + 1 };
        stop = nl;
      }
      if (stop > maxLine) {
        // The earliest line here is already too long to hold: skip back to its start without keeping its bytes.
        skippingTo = pos + stop;
        tail = Buffer.alloc(0);
        if (pos === floor) yield { text: '', start: pos, oversized: { end: skippingTo } };
        continue;
      }
      tail = Buffer.from(data.subarray(0, stop + (stop < data.length ? 1 : 0)));
      if (pos === floor && stop > 0) yield { text: data.toString('utf8', 0, stop), start: pos };
    }
  } finally {
    await fh.close();
  }
}

/** Reads one oversized line `[start, end)` in a streaming pass: its small top-level members, for a stub. */
export async function readOversizedLine(path: string, start: number, end: number, signal?: AbortSignal): Promise<OversizedLine> {
  const fh = await openSegment(path);
  try {
    const reader = new OversizedLineReader();
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = start; pos < end; ) {
      if (signal?.aborted) throw signal.reason;
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (bytesRead === 0) break;
      reader.push(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return reader.finish();
  } finally {
    await fh.close();
  }
}
