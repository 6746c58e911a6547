import { replacementFor } from './actions.js';
import type { BodyMode } from './scanners/body.js';
import type { Finding } from './types.js';

/**
 * Text as the detectors see it after undoing an encoding, with the way back: `map[k]` is the raw
 * offset where decoded UTF-16 unit `k` starts, `map[text.length]` the raw end. No map: identity.
 */
export interface DecodedView {
  text: string;
  map?: Int32Array;
}

/** Raw offset of decoded offset `k`. */
export function rawAt(view: DecodedView, k: number): number {
  return view.map === undefined ? k : view.map[k]!;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function pctByte(raw: string, i: number, end: number): number {
  if (i + 3 > end || raw.charCodeAt(i) !== 37) return -1;
  const hi = hexVal(raw.charCodeAt(i + 1));
  const lo = hexVal(raw.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Bytes a UTF-8 sequence starting with `b` needs, or 0 when `b` cannot start one. */
function utf8Length(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

class Builder {
  private readonly parts: string[] = [];
  private map: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.map = new Int32Array(capacity + 1);
  }
  push(s: string, at: number): void {
    if (this.length + s.length + 1 > this.map.length) {
      const grown = new Int32Array(Math.max(this.map.length * 2, this.length + s.length + 1));
      grown.set(this.map);
      this.map = grown;
    }
    for (let u = 0; u < s.length; u++) this.map[this.length++] = at;
    this.parts.push(s);
  }
  done(end: number): DecodedView {
    this.map[this.length] = end;
    return { text: this.parts.join(''), map: this.map.subarray(0, this.length + 1) };
  }
}

/**
 * Percent-decoding of `raw[from, to)` (`+` as space when `plus`), UTF-8 by hand so each decoded
 * character maps to the `%` that starts its bytes; an invalid or truncated sequence decodes to
 * U+FFFD per byte, and an incomplete `%4` stays literal, so nothing is skipped. `&` becomes a line
 * break when `fieldBreaks` (a whole form body), so no match can join two fields.
 */
export function decodePercent(raw: string, from = 0, to = raw.length, plus = true, fieldBreaks = false): DecodedView {
  let needs = false;
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 || (plus && c === 43) || (fieldBreaks && c === 38)) {
      needs = true;
      break;
    }
  }
  if (!needs) return from === 0 && to === raw.length ? { text: raw } : shifted(raw.slice(from, to), from);
  const b = new Builder(to - from);
  let i = from;
  while (i < to) {
    const c = raw.charCodeAt(i);
    const byte = c === 37 ? pctByte(raw, i, to) : -1;
    if (byte < 0) {
      b.push(c === 43 && plus ? ' ' : c === 38 && fieldBreaks ? '\n' : raw[i]!, i);
      i++;
      continue;
    }
    const len = utf8Length(byte);
    if (len === 1) {
      b.push(String.fromCharCode(byte), i);
      i += 3;
      continue;
    }
    let cp = len === 2 ? byte & 0x1f : len === 3 ? byte & 0x0f : byte & 0x07;
    let ok = len > 1;
    for (let k = 1; ok && k < len; k++) {
      const cont = pctByte(raw, i + 3 * k, to);
      if (cont < 0x80 || cont > 0xbf) ok = false;
      else cp = (cp << 6) | (cont & 0x3f);
    }
    if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) {
      b.push('\ufffd', i);
      i += 3;
      continue;
    }
    b.push(String.fromCodePoint(cp), i);
    i += 3 * len;
  }
  return b.done(to);
}

function shifted(text: string, from: number): DecodedView {
  if (from === 0) return { text };
  const map = new Int32Array(text.length + 1);
  for (let k = 0; k <= text.length; k++) map[k] = from + k;
  return { text, map };
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };

/**
 * JSON string escapes (`\u0040`, `\n`, `\"`, `\/`…) undone anywhere in `raw[from, to)`, in or out of
 * strings (outside a string they are invalid JSON, and still no place to hide a value). A truncated
 * escape at the end stays literal.
 */
export function decodeJsonEscapes(raw: string, from = 0, to = raw.length): DecodedView {
  const first = raw.indexOf('\\', from);
  if (first === -1 || first >= to) return from === 0 && to === raw.length ? { text: raw } : shifted(raw.slice(from, to), from);
  const b = new Builder(to - from);
  let i = from;
  let next = first;
  while (i < to) {
    if (next === -1 || next >= to) {
      for (let k = i; k < to; k++) b.push(raw[k]!, k);
      break;
    }
    for (let k = i; k < next; k++) b.push(raw[k]!, k);
    i = next;
    const e = raw[i + 1];
    if (e === 'u' && i + 6 <= to) {
      const h = [2, 3, 4, 5].map((d) => hexVal(raw.charCodeAt(i + d)));
      if (h.every((v) => v >= 0)) {
        b.push(String.fromCharCode((h[0]! << 12) | (h[1]! << 8) | (h[2]! << 4) | h[3]!), i);
        i += 6;
        next = raw.indexOf('\\', i);
        continue;
      }
    }
    const simple = e !== undefined && i + 2 <= to ? SIMPLE_ESCAPES[e] : undefined;
    if (simple !== undefined) {
      b.push(simple, i);
      i += 2;
    } else {
      b.push('\\', i);
      i += 1;
    }
    next = raw.indexOf('\\', i);
  }
  return b.done(to);
}

/**
 * Rewrites `raw` with each finding's replacement, where findings carry offsets into `view.text`:
 * the replacement is computed from the decoded value and lands on the raw (encoded) range,
 * encoded for its context by `escape` (given the raw start). Findings must be sorted and disjoint.
 */
export function applyDecoded(raw: string, view: DecodedView, findings: readonly Finding[], escape?: (replacement: string, f: Finding, rawStart: number) => string): string {
  let out = '';
  let pos = 0;
  let changed = false;
  for (const f of findings) {
    const rep = replacementFor(f.type, f.action, view.text.slice(f.start, f.end), f.fingerprint);
    if (rep === undefined) continue;
    const start = rawAt(view, f.start);
    out += raw.slice(pos, start) + (escape ? escape(rep, f, start) : rep);
    pos = rawAt(view, f.end);
    changed = true;
  }
  return changed ? out + raw.slice(pos) : raw;
}

/** A replacement as it must appear in a form body or query string. */
export function encodeFormComponent(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/** A replacement inside a JSON string literal. */
export function escapeJsonString(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** How the detectors must see a stretch of a body of this mode. */
export function decodedView(mode: BodyMode, raw: string): DecodedView {
  if (mode === 'form') return decodePercent(raw, 0, raw.length, true, true);
  if (mode === 'json') return decodeJsonEscapes(raw);
  return { text: raw };
}

/** Whether a position of raw JSON text, read left to right (possibly across chunks), is inside a string. */
export class JsonStringState {
  inString = false;
  private escaped = false;

  advance(text: string, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (this.escaped) this.escaped = false;
      else if (c === 92) this.escaped = this.inString;
      else if (c === 34) this.inString = !this.inString;
    }
  }
}

/**
 * Rewrites raw JSON-ish text (a chunk, or a body that did not parse) with findings on its decoded
 * view: a replacement inside a string is escaped for it, one outside any string becomes a string.
 */
export function applyDecodedJson(raw: string, view: DecodedView, findings: readonly Finding[], state: JsonStringState): string {
  let cursor = 0;
  const out = applyDecoded(raw, view, findings, (rep, _f, start) => {
    state.advance(raw, cursor, start);
    cursor = start;
    return state.inString ? escapeJsonString(rep) : JSON.stringify(rep);
  });
  state.advance(raw, cursor, raw.length);
  return out;
}
