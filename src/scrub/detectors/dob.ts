import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { isDigit } from './context.js';

const KEY_CONTEXT = /dob|birth|born|bday|geburt|naissance|nacimiento/i;
const ANCHORS = ['birth', 'Birth', 'BIRTH', 'dob', 'Dob', 'DOB', 'born', 'Born', 'BORN', 'bday', 'Bday', 'BDAY', 'geburt', 'Geburt', 'naissance', 'Naissance', 'nacimiento'];
/** How far after a context word the date may start ("date of birth (as on passport): 1985-03-12"). */
const REACH = 40;
const MONTHS = 'jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december';
const DATE = new RegExp(
  [
    String.raw`(\d{4})([-/.])(\d{1,2})\2(\d{1,2})`,
    String.raw`(\d{1,2})([-/.])(\d{1,2})\6(\d{4})`,
    String.raw`(\d{1,2})(?:st|nd|rd|th)?\s(${MONTHS})\.?,?\s(\d{4})`,
    String.raw`(${MONTHS})\.?\s(\d{1,2})(?:st|nd|rd|th)?,?\s(\d{4})`,
  ].join('|'),
  'gi',
);
const MONTH_INDEX = new Map(MONTHS.split('|').map((m) => [m, ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].indexOf(m.slice(0, 3)) + 1]));

function validYmd(y: number, mo: number, d: number): boolean {
  if (y < 1900 || y > new Date().getUTCFullYear() || mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

function dateOf(m: RegExpExecArray): string | undefined {
  const n = (i: number): number => Number(m[i]);
  const pad = (v: number): string => String(v).padStart(2, '0');
  if (m[1] !== undefined) return validYmd(n(1), n(3), n(4)) ? `${n(1)}-${pad(n(3))}-${pad(n(4))}` : undefined;
  if (m[5] !== undefined) {
    if (validYmd(n(8), n(7), n(5))) return `${n(8)}-${pad(n(7))}-${pad(n(5))}`;
    if (validYmd(n(8), n(5), n(7))) return `${n(8)}-${pad(n(5))}-${pad(n(7))}`;
    return undefined;
  }
  if (m[9] !== undefined) {
    const mo = MONTH_INDEX.get(m[10]!.toLowerCase()) ?? 0;
    return validYmd(n(11), mo, n(9)) ? `${n(11)}-${pad(mo)}-${pad(n(9))}` : undefined;
  }
  const mo = MONTH_INDEX.get(m[12]!.toLowerCase()) ?? 0;
  return validYmd(n(14), mo, n(13)) ? `${n(14)}-${pad(mo)}-${pad(n(13))}` : undefined;
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** A real calendar date, only where a birth-date word precedes it or the key says so. */
export const dobDetector: Detector = {
  family: 'date_of_birth',
  ids: ['date_of_birth'],
  anchors: ANCHORS,
  maxLength: 64,
  priority: 45,
  keyGate: (key) => KEY_CONTEXT.test(key),
  find(text: string, first: number, ctx: ScanContext, out: Match[]): void {
    const whole = ctx.key !== undefined && KEY_CONTEXT.test(ctx.key);
    if (whole) {
      scanRange(text, 0, text.length, out);
      return;
    }
    for (const anchor of ANCHORS) {
      let i = text.indexOf(anchor, first);
      while (i !== -1) {
        const wordish = anchor.length > 4 || (!isLower(text.charCodeAt(i - 1)) && !isLower(text.charCodeAt(i + anchor.length)));
        if (wordish) scanRange(text, i + anchor.length, Math.min(text.length, i + anchor.length + REACH), out, true);
        i = text.indexOf(anchor, i + anchor.length);
      }
    }
  },
};

/** Dates starting inside [from, until), searched in a bounded slice so many anchors stay linear. */
function scanRange(text: string, from: number, until: number, out: Match[], firstOnly = false): void {
  const base = from;
  const sub = text.slice(from, until + 32);
  DATE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = DATE.exec(sub)) !== null && m.index < until - base) {
    const start = base + m.index;
    const end = start + m[0].length;
    if ((start > 0 && isDigit(text.charCodeAt(start - 1))) || (end < text.length && isDigit(text.charCodeAt(end)))) continue;
    const iso = dateOf(m);
    if (iso !== undefined) {
      out.push({ type: 'date_of_birth', start, end, normalized: iso });
      if (firstOnly) return;
    }
  }
}
