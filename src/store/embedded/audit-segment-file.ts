import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Segment files are named by the seq of their first record, zero-padded so that name order is log order. */
const SEGMENT_RE = /^audit-(\d{16})\.jsonl$/;

export function segmentName(firstSeq: number): string {
  return `audit-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

/** Segment file names in `dir`, oldest first; empty when the directory does not exist. */
export async function listSegments(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => SEGMENT_RE.test(n)).sort();
}

export function segmentPath(dir: string, name: string): string {
  return join(dir, name);
}

export interface SegmentLine {
  text: string;
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just past the line (and its newline, when terminated). */
  end: number;
  /** 1-based. */
  line: number;
  /** False for a final line without its newline: a write cut short. */
  terminated: boolean;
}

const CHUNK = 1 << 20;

/** Reads a segment front to back, one line at a time, up to byte `limit` (default: the whole file). */
export async function* scanLines(path: string, limit = Number.POSITIVE_INFINITY): AsyncGenerator<SegmentLine> {
  const fh = await open(path, 'r');
  try {
    let pos = 0;
    let carry = Buffer.alloc(0);
    let carryStart = 0;
    let line = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const want = Math.min(CHUNK, limit - pos);
      const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, pos) : { bytesRead: 0 };
      if (bytesRead === 0) break;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const dataStart = carry.length ? carryStart : pos;
      pos += bytesRead;
      let from = 0;
      for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
        line++;
        yield { text: data.toString('utf8', from, nl), start: dataStart + from, end: dataStart + nl + 1, line, terminated: true };
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
      carryStart = dataStart + from;
    }
    if (carry.length) yield { text: carry.toString('utf8'), start: carryStart, end: carryStart + carry.length, line: line + 1, terminated: false };
  } finally {
    await fh.close();
  }
}

const BACK_CHUNK = 256 * 1024;

/** Reads complete lines back to front from byte `end` (exclusive, on a line boundary) down to byte `floor`. */
export async function* linesBackward(path: string, end: number, floor = 0): AsyncGenerator<{ text: string; start: number }> {
  const fh = await open(path, 'r');
  try {
    let pos = end;
    let tail = Buffer.alloc(0);
    while (pos > floor) {
      const size = Math.min(BACK_CHUNK, pos - floor);
      pos -= size;
      const chunk = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(chunk, 0, size, pos);
      const data = Buffer.concat([chunk.subarray(0, bytesRead), tail]);
      // data covers [pos, start of the earliest line yielded so far) and ends with that previous line's newline
      let stop = data.length;
      if (data[stop - 1] === 10) stop--;
      while (stop > 0) {
        const nl = data.lastIndexOf(10, stop - 1);
        if (nl === -1) break;
        yield { text: data.toString('utf8', nl + 1, stop), start: pos + nl + 1 };
        stop = nl;
      }
      tail = Buffer.from(data.subarray(0, stop + (stop < data.length ? 1 : 0)));
      if (pos === floor && stop > 0) yield { text: data.toString('utf8', 0, stop), start: pos };
    }
  } finally {
    await fh.close();
  }
}
