export interface DiffLine {
  /** `=` unchanged, `-` only in the old text, `+` only in the new one. */
  op: '=' | '-' | '+';
  line: string;
  /** 1-based line numbers in the old and new text (null on the side the line is absent from). */
  old: number | null;
  new: number | null;
}

/** Beyond this many changed-region cells the diff falls back to "all old lines removed, all new added". */
const MAX_CELLS = 4_000_000;

/**
 * Line diff of two texts: common head and tail trimmed, then a longest-common-subsequence table over the
 * middle. Policies are small (1 MiB at most), edits usually local, so the table stays small.
 */
export function diffLines(before: string, after: string, maxCells = MAX_CELLS): { lines: DiffLine[]; exact: boolean } {
  return diffLineArrays(before.split('\n'), after.split('\n'), maxCells);
}

/** `diffLines` over texts already split into lines (an empty array is no lines at all, not one empty line). */
export function diffLineArrays(a: readonly string[], b: readonly string[], maxCells = MAX_CELLS): { lines: DiffLine[]; exact: boolean } {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ op: '=', line: a[i]!, old: i + 1, new: i + 1 });
  let exact = true;
  if (am.length * bm.length > maxCells) {
    exact = false;
    am.forEach((line, i) => out.push({ op: '-', line, old: head + i + 1, new: null }));
    bm.forEach((line, j) => out.push({ op: '+', line, old: null, new: head + j + 1 }));
  } else {
    const n = am.length;
    const m = bm.length;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] = am[i] === bm[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: '=', line: am[i]!, old: head + i + 1, new: head + j + 1 });
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1]! > lcs[(i + 1) * (m + 1) + j]!)) {
        out.push({ op: '+', line: bm[j]!, old: null, new: head + j + 1 });
        j++;
      } else {
        // On a tie the removal comes first, as in unified diffs.
        out.push({ op: '-', line: am[i]!, old: head + i + 1, new: null });
        i++;
      }
    }
  }
  for (let k = tail; k > 0; k--) out.push({ op: '=', line: a[a.length - k]!, old: a.length - k + 1, new: b.length - k + 1 });
  return { lines: out, exact };
}
