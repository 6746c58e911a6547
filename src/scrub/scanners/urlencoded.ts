import { applyFindings, blocks, mutates } from '../actions.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { Finding, FindingLocation } from '../types.js';
import type { ScrubResult } from './result.js';

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Percent-decodes `raw[start, end)` (and `+` as space) with, for each decoded UTF-16 unit,
 * the raw offset it came from, so findings point into the undecoded body.
 */
export function decodeComponent(raw: string, start: number, end: number): { text: string; at: (k: number) => number } {
  const slice = raw.slice(start, end);
  if (!slice.includes('%') && !slice.includes('+')) return { text: slice, at: (k) => start + k };
  let text = '';
  const map: number[] = [];
  let i = start;
  while (i < end) {
    const c = raw.charCodeAt(i);
    if (c === 37 && i + 2 < end && hexVal(raw.charCodeAt(i + 1)) >= 0 && hexVal(raw.charCodeAt(i + 2)) >= 0) {
      const runStart = i;
      const bytes: number[] = [];
      while (i + 2 < end && raw.charCodeAt(i) === 37 && hexVal(raw.charCodeAt(i + 1)) >= 0 && hexVal(raw.charCodeAt(i + 2)) >= 0) {
        bytes.push(hexVal(raw.charCodeAt(i + 1)) * 16 + hexVal(raw.charCodeAt(i + 2)));
        i += 3;
      }
      const decoded = Buffer.from(bytes).toString('utf8');
      let byteOffset = 0;
      for (const ch of decoded) {
        const cp = ch.codePointAt(0)!;
        const at = Math.min(runStart + 3 * byteOffset, i - 3);
        for (let u = 0; u < ch.length; u++) map.push(at);
        text += ch;
        byteOffset += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      }
      continue;
    }
    text += c === 43 ? ' ' : raw[i];
    map.push(i);
    i++;
  }
  map.push(end);
  return { text, at: (k) => map[k]! };
}

function encodeFormComponent(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/**
 * `a=1&b=2` (form bodies and query strings): each value is decoded and scanned with its field name
 * as context, then re-encoded; finding offsets point into the raw encoded text.
 */
export function scrubUrlEncoded(set: DetectorSet, raw: string, kind: 'form' | 'query', opts: ScanOptions = {}): ScrubResult {
  const findings: Finding[] = [];
  let out = '';
  let pos = 0;
  let i = 0;
  while (i <= raw.length) {
    let amp = raw.indexOf('&', i);
    if (amp === -1) amp = raw.length;
    const eq = raw.indexOf('=', i);
    const hasValue = eq !== -1 && eq < amp;
    const nameEnd = hasValue ? eq : amp;
    const name = decodeComponent(raw, i, nameEnd).text;
    const valueStart = hasValue ? eq + 1 : amp;
    if (amp > valueStart) {
      const { text, at } = decodeComponent(raw, valueStart, amp);
      const location: FindingLocation = kind === 'form' ? { kind: 'form', field: name } : { kind: 'query', param: name };
      const local = set.scanText(text, { ...opts, context: { key: name }, location });
      for (const f of local) findings.push({ ...f, start: at(f.start), end: at(f.end) });
      if (mutates(local)) {
        out += raw.slice(pos, valueStart) + encodeFormComponent(applyFindings(text, local));
        pos = amp;
      }
    }
    i = amp + 1;
  }
  const changed = mutates(findings);
  return { output: changed ? out + raw.slice(pos) : raw, findings, changed, blocked: blocks(findings) };
}

/** A request path's query string (`/v1/x?email=…`): only the part after `?` is scanned; offsets are into the path. */
export function scrubQuery(set: DetectorSet, path: string, opts: ScanOptions = {}): ScrubResult {
  const q = path.indexOf('?');
  if (q === -1) return { output: path, findings: [], changed: false, blocked: false };
  const hash = path.indexOf('#', q);
  const end = hash === -1 ? path.length : hash;
  const r = scrubUrlEncoded(set, path.slice(q + 1, end), 'query', opts);
  const shift = q + 1;
  return {
    ...r,
    output: r.changed ? path.slice(0, shift) + r.output + path.slice(end) : path,
    findings: r.findings.map((f) => ({ ...f, start: f.start + shift, end: f.end + shift })),
  };
}
