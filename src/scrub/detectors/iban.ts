import { countrySpecs, isValidIBAN } from 'ibantools';
import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { charAt, charBefore, isAlnum, isDigit } from './context.js';

/** Country code + check digits, then alphanumerics optionally grouped by single spaces (print format). */
const IBAN_RUN = /(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}/g;

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
      const run = m[0];
      // A rejected run may still hide an IBAN after a space: resume just past this start.
      IBAN_RUN.lastIndex = m.index + 1;
      if (gluedBefore(text, m.index)) continue;
      const cc = run.slice(0, 2).toUpperCase();
      const spec = countrySpecs[cc];
      if (!spec?.chars) continue;
      let taken = 0;
      let k = 0;
      while (k < run.length && taken < spec.chars) {
        if (run.charCodeAt(k) !== 32) taken++;
        k++;
      }
      if (taken < spec.chars) continue;
      const end = m.index + k;
      if (gluedAfter(text, end)) continue;
      const raw = run.slice(0, k);
      const upper = raw.toUpperCase();
      if (raw !== upper && raw !== raw.toLowerCase()) continue;
      const electronic = upper.replace(/ /g, '');
      if (!isValidIBAN(electronic)) continue;
      out.push({ type: 'iban', start: m.index, end, normalized: electronic });
      IBAN_RUN.lastIndex = end;
    }
  },
};
