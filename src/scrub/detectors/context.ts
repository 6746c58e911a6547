import type { ScanContext } from '../types.js';

const WINDOW = 48;

/**
 * True if `re` matches the key the value came from, or the text just before `start`
 * (the key of a JSON member or a label like "DOB:" sits there in raw bodies and prose).
 */
export function hasContext(text: string, start: number, ctx: ScanContext, re: RegExp, window = WINDOW): boolean {
  if (ctx.key !== undefined && re.test(ctx.key)) return true;
  const from = start > window ? start - window : 0;
  return re.test(text.slice(from, start));
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
