import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export const PHONE_CONTEXT = /phone|\btel\b|tel[:.]|mobile|\bcell|\bfax|\bcall|contact|whats ?app|\bsms\b|\bdial|\bph\b|\bmob\b|telefon|portable|móvil|reach (?:me|us)|\btext me/i;

/** Regions tried for numbers written without a country code. */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = ['US', 'CA', 'GB', 'DE', 'FR', 'AU', 'IN', 'ES', 'IT', 'NL', 'BR', 'SE', 'CH', 'MX'];

export interface PhoneSpan {
  /** The candidate as written, including a leading `+` or `(`. */
  raw: string;
  groups: readonly string[];
  seps: readonly string[];
}

/** Words that say the number is something else (a licence, an order) unless a phone word is also there. */
export const NOT_PHONE_CONTEXT = /licen[cs]e|passport|account|order|invoice|tracking|serial|ssn|social|\bid\b|#/i;

/** A date (2024-01-15, 15.01.2024) at the start of the groups, e.g. the `2024-01-15 10` of a timestamp. */
function looksLikeDate(groups: readonly string[], seps: readonly string[]): boolean {
  if (groups.length < 3) return false;
  const [a, b, c] = [groups[0]!.length, groups[1]!.length, groups[2]!.length];
  const sameSep = seps[0] === seps[1] && (seps[0] === '-' || seps[0] === '.' || seps[0] === '/');
  return sameSep && ((a === 4 && b <= 2 && c <= 2) || (a <= 2 && b <= 2 && c === 4));
}

/**
 * A phone number, validated by libphonenumber's full metadata (not just length).
 * `+`-prefixed numbers stand alone; national numbers need visible grouping or phone context,
 * and shapes that are really dates, decimals, year ranges or versions are rejected first.
 */
export function classifyPhone(span: PhoneSpan, regions: readonly CountryCode[], hasCtx: boolean): string | undefined {
  const { raw, groups, seps } = span;
  let digits = 0;
  for (const g of groups) digits += g.length;
  if (digits < 7 || digits > 15) return undefined;
  for (const s of seps) if (s.includes('/')) return undefined;
  if (looksLikeDate(groups, seps)) return undefined;
  const onlyDots = seps.length > 0 && seps.every((s) => s === '.');
  if (onlyDots && (groups.length === 2 || groups.some((g) => g.length < 2))) return undefined;
  if (groups.length === 2 && groups[0]!.length === 4 && groups[1]!.length === 4 && /^(19|20)/.test(groups[0]!) && /^(19|20)/.test(groups[1]!)) return undefined;
  if (raw.charCodeAt(0) === 43) {
    const parsed = parsePhoneNumberFromString(raw);
    return parsed?.isValid() ? parsed.number : undefined;
  }
  // Without a country code or a phone word nearby, only clearly phone-shaped numbers qualify:
  // three or more groups, not dot-separated (versions, build numbers), no lone digit groups but the first.
  if (!hasCtx) {
    if (groups.length < 3 || onlyDots) return undefined;
    // ddd-dd-dddd is the SSN shape; a phone written that way needs a phone word.
    if (groups.length === 3 && groups[0]!.length === 3 && groups[1]!.length === 2 && groups[2]!.length === 4) return undefined;
    for (let i = 1; i < groups.length; i++) if (groups[i]!.length < 2) return undefined;
  }
  for (const region of regions) {
    const parsed = parsePhoneNumberFromString(raw, region);
    if (parsed?.isValid()) return parsed.number;
  }
  return undefined;
}
