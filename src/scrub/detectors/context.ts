import type { ScanContext } from '../types.js';

const WINDOW = 48;

/**
 * True if `re` matches the key the value came from, or the text just before `start`
 * (the key of a JSON member or a label like "DOB:" sits there in raw bodies and prose).
 */
export function hasContext(text: string, start: number, ctx: ScanContext, re: RegExp, window = WINDOW): boolean {
  if (ctx.key !== undefined && re.test(ctx.key)) return true;
  return re.test(fieldBefore(text, start, window));
}

/**
 * Up to `window` chars before `start`, cut after the end of a previous field (`&`, or `",` / `,"`
 * between JSON members), so one member's key is never context for the next member's value.
 */
export function fieldBefore(text: string, start: number, window: number): string {
  const s = text.slice(start > window ? start - window : 0, start);
  const amp = s.lastIndexOf('&');
  const quoteComma = s.lastIndexOf('",');
  const commaQuote = s.lastIndexOf(',"');
  const cut = Math.max(amp === -1 ? 0 : amp + 1, quoteComma === -1 ? 0 : quoteComma + 2, commaQuote === -1 ? 0 : commaQuote + 1);
  return cut > 0 ? s.slice(cut) : s;
}

/** Up to `window` chars after `end`, cut at the end of its field (a quote or `&`): a label after a value belongs to it only there. */
export function fieldAfter(text: string, end: number, window: number): string {
  const s = text.slice(end, end + window);
  const cut = s.search(/["&]/);
  return cut === -1 ? s : s.slice(0, cut);
}

export function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Token body characters shared by most vendor formats: [A-Za-z0-9_-]. */
export function isTokenChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45;
}

/** True when the character before `start` and at `end` cannot continue a token (word boundary). */
export function bounded(text: string, start: number, end: number, inner: (c: number) => boolean = isTokenChar): boolean {
  return (start === 0 || !inner(text.charCodeAt(start - 1))) && (end >= text.length || !inner(text.charCodeAt(end)));
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte a `%XX` escape at `text[i, i+3)` stands for, or -1 when there is none. */
export function escapeAt(text: string, i: number): number {
  if (i < 0 || i + 3 > text.length || text.charCodeAt(i) !== 37) return -1;
  const hi = hexValue(text.charCodeAt(i + 1));
  const lo = hexValue(text.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** True when `i` is the first hex digit of a `%XX` escape (a digit run starting there is the escape's, not a value's). */
export function insideEscape(text: string, i: number): boolean {
  return escapeAt(text, i - 1) >= 0;
}

function isWord(c: number): boolean {
  return isAlnum(c) || c === 95;
}

function isJoiner(c: number): boolean {
  return c === 45 || c === 46 || c === 95; // - . _
}

/** The character just before `i` as a decoder would see it (a `%XX` escape counts as its byte), and where it starts. */
export function charBefore(text: string, i: number): [number, number] {
  const b = escapeAt(text, i - 3);
  if (b >= 0) return [b, i - 3];
  return i > 0 ? [text.charCodeAt(i - 1), i - 1] : [-1, 0];
}

/** The character at `i` as a decoder would see it, and where the next one starts. */
export function charAt(text: string, i: number): [number, number] {
  const b = escapeAt(text, i);
  if (b >= 0) return [b, i + 3];
  return i < text.length ? [text.charCodeAt(i), i + 1] : [-1, i];
}

/**
 * True when the token before `start` goes on into the value: a letter, digit or `_` right before it,
 * or `-`, `.` or `_` with one of those before (`ORD-2024-…`, `v10.…`), where a `%XX` escape counts
 * as the character it encodes (`%2D`, `%41`) and one that encodes a delimiter (`%20`, `%3D`) is a boundary.
 */
export function continuesBefore(text: string, start: number): boolean {
  const [c, at] = charBefore(text, start);
  if (c < 0) return false;
  if (isWord(c)) return true;
  if (!isJoiner(c)) return false;
  const [p] = charBefore(text, at);
  return p >= 0 && isWord(p);
}

/**
 * True when the value ending at `end` goes on: a letter, digit or `_` right after it (decoded from a
 * `%XX` escape too), or `-`, `.` or `_` joining more letters or digits (`…-42`, `….png`). A hyphen
 * before a plain word of three or more letters is a label, not a continuation (`555-0199-Fax`).
 */
export function continuesAfter(text: string, end: number): boolean {
  const [c, next] = charAt(text, end);
  if (c < 0) return false;
  if (isWord(c)) return true;
  if (!isJoiner(c)) return false;
  const [d, after] = charAt(text, next);
  if (d < 0 || !isWord(d)) return false;
  if (c !== 45 || isDigit(d) || d === 95) return true;
  let k = after;
  let letters = 1;
  // A label is a short word: past 16 letters the answer cannot change, so the look stays bounded.
  while (letters < 16) {
    const [e, n] = charAt(text, k);
    if (e < 0 || !isWord(e)) break;
    if (isDigit(e) || e === 95) return true;
    letters++;
    k = n;
  }
  return letters < 3;
}
