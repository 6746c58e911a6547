import { createHash } from 'node:crypto';
import { diffLineArrays } from '../dashboard/text-diff.js';

/** Lets other work (Checks) run between two slices of a diff. */
export type DiffYield = () => Promise<void>;

const nextTurn: DiffYield = () => new Promise((resolve) => setImmediate(resolve));

/** Bounds of one audit diff: what is shown, never what is counted. */
export const DIFF_LIMITS = {
  /** Changed lines (and `@@` headers) kept in the record. */
  maxLines: 200,
  /** Characters kept of one changed line; a longer one ends in `…`. */
  maxLineChars: 240,
  /** Characters of all kept lines together: keeps the record well under the audit log's 64 KiB record cap. */
  maxChars: 32 * 1024,
  /** Changed-region cells (old lines × new lines) up to which the exact LCS diff runs; beyond, lines are matched by content. */
  maxLcsCells: 1_000_000,
} as const;

/** Lines handled per slice of the long passes (splitting, matching), and bytes per slice of the hashes. */
const LINES_PER_SLICE = 5_000;
const HASH_BYTES_PER_SLICE = 1 << 20;
const COMPARE_BLOCK = 64 * 1024;

/** What an admin audit record says about a policy change: counts and hashes always, the first changed lines as a sample. */
export interface PolicyDiff {
  /** `@@ -old +new @@` headers then `-`/`+` lines, at most `DIFF_LIMITS` of them. */
  lines: string[];
  stats: PolicyDiffStats;
}

export interface PolicyDiffStats {
  /** Lines only in the new text / only in the old one. */
  added: number;
  removed: number;
  /** Changed lines left out of `lines` (over the line or character cap). */
  omitted: number;
  /** false when the changed region was too large for the exact diff: lines were matched by content, ignoring order. */
  exact: boolean;
  /** sha256 of the two redacted texts (empty text when there was no previous version). */
  from_sha256: string;
  to_sha256: string;
}

/**
 * Bounded line diff of two (redacted) policy texts. The common head and tail are found by comparing blocks of the
 * strings (no split), so a one-line edit of a 13 MB policy costs two block compares and a split of the changed middle.
 * A small middle gets the exact LCS diff (`diffLines`); a large one (a whole policy replaced) is counted by matching
 * lines by content, one slice of lines per event-loop turn. Hashes are taken in 1 MiB slices.
 */
export async function policyDiff(before: string, after: string, pause: DiffYield = nextTurn): Promise<PolicyDiff> {
  const from_sha256 = await sha256Sliced(before, pause);
  const to_sha256 = await sha256Sliced(after, pause);
  const head = commonHeadLineEnd(before, after);
  const tail = commonTailLineStart(before, after, head);
  const headLines = countNewlines(before, 0, head);
  const am = await middleLines(before, head, before.length - tail, pause);
  const bm = await middleLines(after, head, after.length - tail, pause);
  const out = new Sample();
  let added = 0;
  let removed = 0;
  let exact = true;
  // Lines are compared as ids: comparing or hashing the lines themselves costs their length per compare, and V8 hashes
  // strings over 16,383 characters by length alone, so same-length long lines all collide in a Map.
  const ids = new LineIds();
  const ai = await ids.of(am, pause);
  const bi = await ids.of(bm, pause);
  if (am.length * bm.length <= DIFF_LIMITS.maxLcsCells) {
    let lastOld = headLines;
    let lastNew = headLines;
    let inRun = false;
    for (const l of diffLineArrays(ai, bi, DIFF_LIMITS.maxLcsCells).lines) {
      if (l.op === '=') inRun = false;
      else {
        if (l.op === '+') added++;
        else removed++;
        if (!inRun) out.header(`@@ -${l.old !== null ? headLines + l.old : lastOld + 1} +${l.new !== null ? headLines + l.new : lastNew + 1} @@`);
        inRun = true;
        out.line(l.op, l.op === '+' ? bm[l.new! - 1]! : am[l.old! - 1]!);
      }
      if (l.old !== null) lastOld = headLines + l.old;
      if (l.new !== null) lastNew = headLines + l.new;
    }
  } else {
    exact = false;
    const unmatchedOld = await unmatched(ai, bi, pause);
    const unmatchedNew = await unmatched(bi, ai, pause);
    removed = unmatchedOld.length;
    added = unmatchedNew.length;
    sampleRuns(out, '-', am, unmatchedOld, headLines);
    sampleRuns(out, '+', bm, unmatchedNew, headLines);
  }
  return { lines: out.lines, stats: { added, removed, omitted: added + removed - out.changed, exact, from_sha256, to_sha256 } };
}

/** Collects the shown lines until a cap is reached; a header is only kept when a line under it fits. */
class Sample {
  readonly lines: string[] = [];
  changed = 0;
  private chars = 0;
  private pending: string | undefined;
  private full = false;

  header(h: string): void {
    this.pending = h;
  }

  line(op: '-' | '+', text: string): void {
    if (this.full) return;
    const shown = `${op}${text.length > DIFF_LIMITS.maxLineChars ? `${text.slice(0, DIFF_LIMITS.maxLineChars)}…` : text}`;
    const need = shown.length + (this.pending?.length ?? 0);
    if (this.lines.length + (this.pending ? 2 : 1) > DIFF_LIMITS.maxLines || this.chars + need > DIFF_LIMITS.maxChars) {
      this.full = true;
      return;
    }
    if (this.pending) this.lines.push(this.pending);
    this.pending = undefined;
    this.lines.push(shown);
    this.chars += need;
    this.changed++;
  }
}

/** Lines longer than this are keyed by their digest (V8 gives longer strings a length-only hash, see LineIds). */
const KEY_BY_DIGEST_CHARS = 1024;

/** One short id string per distinct line; long lines are keyed by length and sha256, hashed in 1 MiB slices. */
class LineIds {
  private readonly byKey = new Map<string, string>();

  async of(lines: readonly string[], pause: DiffYield): Promise<string[]> {
    const out: string[] = [];
    let hashed = 0;
    for (let i = 0; i < lines.length; i++) {
      if (i % LINES_PER_SLICE === LINES_PER_SLICE - 1 || hashed >= HASH_BYTES_PER_SLICE) {
        await pause();
        hashed = 0;
      }
      const line = lines[i]!;
      let key = line;
      if (line.length > KEY_BY_DIGEST_CHARS) {
        key = `\u0000${line.length}:${createHash('sha256').update(line).digest('base64')}`;
        hashed += line.length;
      }
      let id = this.byKey.get(key);
      if (id === undefined) this.byKey.set(key, (id = this.byKey.size.toString(36)));
      out.push(id);
    }
    return out;
  }
}

/** Indexes (ascending) of `lines` with no partner in `other`: a multiset match by content (line ids), sliced. */
async function unmatched(lines: string[], other: string[], pause: DiffYield): Promise<number[]> {
  const counts = new Map<string, number>();
  for (let i = 0; i < other.length; i++) {
    if (i % LINES_PER_SLICE === LINES_PER_SLICE - 1) await pause();
    counts.set(other[i]!, (counts.get(other[i]!) ?? 0) + 1);
  }
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (i % LINES_PER_SLICE === LINES_PER_SLICE - 1) await pause();
    const c = counts.get(lines[i]!);
    if (c) counts.set(lines[i]!, c - 1);
    else out.push(i);
  }
  return out;
}

/** Runs of unmatched lines on one side, each under `@@ -n @@` (removed) or `@@ +n @@` (added): no partner line exists. */
function sampleRuns(out: Sample, op: '-' | '+', lines: string[], idx: number[], offset: number): void {
  let prev = -2;
  for (const i of idx) {
    if (i !== prev + 1) out.header(`@@ ${op}${offset + i + 1} @@`);
    out.line(op, lines[i]!);
    prev = i;
  }
}

async function sha256Sliced(text: string, pause: DiffYield): Promise<string> {
  const h = createHash('sha256');
  for (let i = 0; i < text.length; i += HASH_BYTES_PER_SLICE) {
    if (i > 0) await pause();
    h.update(text.slice(i, i + HASH_BYTES_PER_SLICE));
  }
  return h.digest('hex');
}

/** Length of the longest common prefix that ends just after a newline (0 when the first lines differ). */
function commonHeadLineEnd(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i + COMPARE_BLOCK <= max && a.slice(i, i + COMPARE_BLOCK) === b.slice(i, i + COMPARE_BLOCK)) i += COMPARE_BLOCK;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Whole texts equal: everything is common.
  if (i === a.length && i === b.length) return i;
  return a.lastIndexOf('\n', i - 1) + 1;
}

/** Length of the longest common suffix that starts just after a newline, not overlapping the head. */
function commonTailLineStart(a: string, b: string, head: number): number {
  const max = Math.min(a.length, b.length) - head;
  let n = 0;
  while (n + COMPARE_BLOCK <= max && a.slice(a.length - n - COMPARE_BLOCK, a.length - n) === b.slice(b.length - n - COMPARE_BLOCK, b.length - n)) n += COMPARE_BLOCK;
  while (n < max && a.charCodeAt(a.length - 1 - n) === b.charCodeAt(b.length - 1 - n)) n++;
  if (n === 0) return 0;
  // Back up to a line start: the suffix must begin right after a newline in both texts (or at the head).
  const start = a.length - n;
  if (start === head || a.charCodeAt(start - 1) === 10) return n;
  const nl = a.indexOf('\n', start);
  return nl === -1 ? 0 : a.length - (nl + 1);
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i !== -1 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** The changed middle as lines (the trailing newline before the tail is dropped); [] when there is none. Sliced. */
async function middleLines(s: string, from: number, to: number, pause: DiffYield): Promise<string[]> {
  if (to <= from) return [];
  const end = s.charCodeAt(to - 1) === 10 ? to - 1 : to;
  const out: string[] = [];
  let start = from;
  for (;;) {
    const nl = s.indexOf('\n', start);
    if (nl === -1 || nl >= end) {
      out.push(s.slice(start, end));
      return out;
    }
    out.push(s.slice(start, nl));
    start = nl + 1;
    if (out.length % LINES_PER_SLICE === 0) await pause();
  }
}
