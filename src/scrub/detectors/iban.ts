import { countrySpecs, isValidIBAN } from 'ibantools';
import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { charAt, charBefore, isAlnum, isDigit } from './context.js';

/** Country code + check digits, then alphanumerics optionally grouped by single spaces (print format). */
const IBAN_RUN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}/g;
/** The same run, tried right after a `%XX` escape (`iban%3DDE89…`), whose hex digit hides it from the lookbehind above. */
const IBAN_AT = /[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}/y;

/** A letter or digit next to the IBAN (raw or `%XX`-encoded), or `-` and a digit after it: part of a longer token. */
function gluedBefore(text: string, start: number): boolean {
  const [c] = charBefore(text, start);
  return c >= 0 && isAlnum(c);
}

function gluedAfter(text: string, end: number): boolean {
  const [c, next] = charAt(text, end);
  if (c < 0) return false;
  if (isAlnum(c)) return true;
  return c === 45 && isDigit(charAt(text, next)[0]);
}

/**
 * IBAN: the country's registered length and BBAN format, then ISO 7064 mod-97 (all via ibantools).
 * Mixed-case runs are rejected: IBANs are written in one case, base64 and ids are not.
 */
export const ibanDetector: Detector = {
  family: 'iban',
  ids: ['iban'],
  anchors: [],
  maxLength: 34 + 8,
  priority: 70,
  find(text: string, _first: number, _ctx: ScanContext, out: Match[]): void {
    IBAN_RUN.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = IBAN_RUN.exec(text)) !== null) {
      const end = ibanAt(text, m.index, m[0], out);
      // A rejected run may still hide an IBAN after a space: resume just past this start.
      IBAN_RUN.lastIndex = end === -1 ? m.index + 1 : end;
    }
    // Escapes are rare: a second, indexOf-driven look keeps the main regex's cheap lookbehind.
    for (let p = text.indexOf('%'); p !== -1; p = text.indexOf('%', p + 1)) {
      const at = p + 3;
      // Only where the escape's last hex digit is alphanumeric did the lookbehind skip the run.
      if (at >= text.length || !isAlnum(text.charCodeAt(at - 1))) continue;
      IBAN_AT.lastIndex = at;
      const r = IBAN_AT.exec(text);
      if (r !== null) ibanAt(text, at, r[0], out);
    }
  },
};

/** Checks the candidate `run` starting at `start`; pushes a match and returns its end, or -1. */
function ibanAt(text: string, start: number, run: string, out: Match[]): number {
  if (gluedBefore(text, start)) return -1;
  const cc = run.slice(0, 2).toUpperCase();
  const spec = countrySpecs[cc];
  if (!spec?.chars) return -1;
  let taken = 0;
  let k = 0;
  while (k < run.length && taken < spec.chars) {
    if (run.charCodeAt(k) !== 32) taken++;
    k++;
  }
  if (taken < spec.chars) return -1;
  const end = start + k;
  if (gluedAfter(text, end)) return -1;
  const raw = run.slice(0, k);
  const upper = raw.toUpperCase();
  if (raw !== upper && raw !== raw.toLowerCase()) return -1;
  const electronic = upper.replace(/ /g, '');
  if (!isValidIBAN(electronic)) return -1;
  out.push({ type: 'iban', start, end, normalized: electronic });
  return end;
}
