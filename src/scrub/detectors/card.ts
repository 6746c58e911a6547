import { luhnValid } from '../validators/luhn.js';

interface Issuer {
  /** Inclusive numeric ranges over the first `len` digits. */
  prefixes: ReadonlyArray<readonly [number, number, number]>;
  lengths: readonly number[];
}

/** Issuer prefix (IIN) ranges and PAN lengths; anything outside them is not a card however Luhn comes out. */
const ISSUERS: readonly Issuer[] = [
  { prefixes: [[1, 4, 4]], lengths: [13, 16, 19] }, // Visa
  { prefixes: [[2, 51, 55], [4, 2221, 2720]], lengths: [16] }, // Mastercard
  { prefixes: [[2, 34, 34], [2, 37, 37]], lengths: [15] }, // Amex
  { prefixes: [[4, 6011, 6011], [3, 644, 649], [2, 65, 65], [6, 622126, 622925]], lengths: [16, 17, 18, 19] }, // Discover
  { prefixes: [[3, 300, 305], [2, 36, 36], [2, 38, 39]], lengths: [14, 15, 16, 17, 18, 19] }, // Diners
  { prefixes: [[4, 3528, 3589]], lengths: [16, 17, 18, 19] }, // JCB
  { prefixes: [[4, 2131, 2131], [4, 1800, 1800]], lengths: [15] }, // JCB (legacy 15-digit)
  { prefixes: [[2, 62, 62], [2, 81, 81]], lengths: [16, 17, 18, 19] }, // UnionPay
  { prefixes: [[4, 5018, 5018], [4, 5020, 5020], [4, 5038, 5038], [4, 5893, 5893], [4, 6304, 6304], [4, 6759, 6759], [4, 6761, 6763], [4, 6390, 6390]], lengths: [12, 13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { prefixes: [[4, 2200, 2204]], lengths: [16, 17, 18, 19] }, // Mir
];

export function issuerMatches(digits: string): boolean {
  for (const issuer of ISSUERS) {
    if (!issuer.lengths.includes(digits.length)) continue;
    for (const [len, lo, hi] of issuer.prefixes) {
      const p = Number(digits.slice(0, len));
      if (p >= lo && p <= hi) return true;
    }
  }
  return false;
}

/**
 * A card number: 12–19 digits, optionally grouped by one kind of separator (space or dash),
 * a known issuer prefix for its length, and a valid Luhn check digit.
 */
export function classifyCard(digits: string, separators: string, groups: readonly string[]): boolean {
  if (digits.length < 12 || digits.length > 19) return false;
  // Printed cards start with a 4-digit group and never use groups shorter than 3 or longer than 6.
  if (groups.length > 1 && (groups[0]!.length !== 4 || groups.some((g) => g.length < 3 || g.length > 6))) return false;
  if (separators.length > 0) {
    const sep = separators[0];
    if (sep !== ' ' && sep !== '-') return false;
    for (let i = 1; i < separators.length; i++) if (separators[i] !== sep) return false;
  }
  if (/^(\d)\1+$/.test(digits)) return false;
  return issuerMatches(digits) && luhnValid(digits);
}
