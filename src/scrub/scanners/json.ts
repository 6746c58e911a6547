import { applyFindings, blocks, mutates, replacementFor } from '../actions.js';
import { decodeJsonEscapes, escapeJsonString, rawAt } from '../decode.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { Finding, Match } from '../types.js';
import type { ScrubResult } from './result.js';
import { storedNamer } from './json-path.js';
import { scrubDecodedText } from './text.js';
import { decodeJsonString, jsonScalars } from './json-tokens.js';

export interface JsonScrubResult extends ScrubResult {
  /** Set when the body could not be read as JSON and was scanned as text instead. */
  note?: string;
}

/**
 * First-pass matches lying wholly inside an unescaped string's content are already right (same
 * characters, and the key sat in their context window): shift them instead of scanning again.
 * Undefined when a match straddles the string's edge, which needs a rescan of the value alone.
 */
function reuse(quick: readonly Match[], first: number, from: number, to: number): Match[] | undefined {
  const out: Match[] = [];
  for (let i = first; i < quick.length; i++) {
    const m = quick[i]!;
    if (m.start >= to) break;
    if (m.end <= from) continue;
    if (m.start < from || m.end > to) return undefined;
    out.push({ ...m, start: m.start - from, end: m.end - from });
  }
  return out;
}

/** Index of the first match ending after `pos` (matches are sorted and disjoint). */
function firstQuick(quick: readonly Match[], pos: number): number {
  let lo = 0;
  let hi = quick.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quick[mid]!.end <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * JSON bodies. A first pass scans the raw text as is (valid JSON without escapes holds every value
 * verbatim); only when it finds something are the strings, keys and numbers walked one by one,
 * with the JSON path as context, so replacements land inside values and the document stays valid.
 * Numbers that hold a finding become strings (`4111…` → `"************1111"`).
 */
export function scrubJson(set: DetectorSet, raw: string, given: ScanOptions = {}): JsonScrubResult {
  // One phone budget for the first pass and every re-scanned value.
  const opts = set.budgeted(given);
  const budget = opts.context.budget;
  // Escapes hide values from the first pass (`alice\u0040example.com` has no `@`): gate on the decoded
  // text, then map the first-pass matches back onto the raw text.
  const gate = raw.includes('\\') ? decodeJsonEscapes(raw) : { text: raw };
  const found = set.match(gate.text, opts.context);
  if (found.length === 0) return { output: raw, findings: [], changed: false, blocked: false };
  const quick = gate.map === undefined ? found : found.map((m) => ({ ...m, start: rawAt(gate, m.start), end: rawAt(gate, m.end) }));

  let q = 0;
  // Only scalars a first-pass match touches are decoded and re-scanned (the walk visits them in order).
  const touched = (start: number, end: number): boolean => {
    while (q < quick.length && quick[q]!.end <= start) q++;
    return q < quick.length && quick[q]!.start < end;
  };
  const scalars = jsonScalars(raw, touched, storedNamer(set));
  if (scalars === undefined) return { ...scrubDecodedText(set, raw, 'json', opts), note: 'body is not valid JSON; scanned as text with its escapes decoded' };

  const families = set.familiesOf(quick);
  const findings: Finding[] = [];
  let out = '';
  let pos = 0;
  for (const s of scalars) {
    const isString = s.kind !== 'number';
    const decoded = s.escaped ? decodeJsonString(raw, s.start, s.end) : undefined;
    const text = decoded ? decoded.text : isString ? raw.slice(s.start + 1, s.end - 1) : raw.slice(s.start, s.end);
    const base = isString ? s.start + 1 : s.start;
    const local = isString && !decoded ? reuse(quick, firstQuick(quick, s.start), base, s.end - 1) ?? set.match(text, { key: s.path, budget }, families) : set.match(text, { key: s.path, budget }, families);
    if (local.length === 0) continue;
    const scanOpts: ScanOptions = { ...opts, location: { kind: 'json', path: s.where } };
    const localFindings = set.toFindings(text, local, scanOpts);
    const toRaw = (k: number): number => (decoded ? decoded.map[k]! : base + k);
    for (const f of localFindings) findings.push({ ...f, start: toRaw(f.start), end: toRaw(f.end) });
    if (!mutates(localFindings)) continue;
    if (isString) {
      // Only the value's own raw range is rewritten: the string's other escapes stay as sent.
      for (const f of localFindings) {
        const rep = replacementFor(f.type, f.action, text.slice(f.start, f.end), f.fingerprint);
        if (rep === undefined) continue;
        out += raw.slice(pos, toRaw(f.start)) + escapeJsonString(rep);
        pos = toRaw(f.end);
      }
    } else {
      out += raw.slice(pos, s.start) + JSON.stringify(applyFindings(text, localFindings));
      pos = s.end;
    }
  }
  const changed = mutates(findings);
  return { output: changed ? out + raw.slice(pos) : raw, findings, changed, blocked: blocks(findings) };
}
