import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import type { ScanBudget } from '../scan-budget.js';

export const PHONE_CONTEXT = /phone|\btel\b|tel[:.]|mobile|\bcell|\bfax|\bcall|contact|whats ?app|\bsms\b|\bdial|\bph\b|\bmob\b|telefon|portable|móvil|reach (?:me|us)|\btext me/i;

/** Address-book labels written right after a number (`555 0199 (office)`, `…-Home`): only next to it. */
export const PHONE_LABEL_AFTER = /^[\s(,-]{1,3}(?:office|home|work|desk)\b/i;

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
 * `mayBeIn` (createRegionFilter) skips regions whose metadata rules the digits out without a parse.
 * With a `budget`, a candidate written the same way (and with the same context) is decided once per
 * scan, and once its parses are spent the rest are decided by shape (`structural`): fail closed.
 */
export function classifyPhone(span: PhoneSpan, regions: readonly CountryCode[], hasCtx: boolean, mayBeIn?: (region: CountryCode, written: string) => boolean, budget?: ScanBudget): string | undefined {
  const { raw, groups, seps } = span;
  let digits = 0;
  for (const g of groups) digits += g.length;
  if (digits < 7 || digits > 15) return undefined;
  for (const s of seps) if (s.includes('/')) return undefined;
  if (looksLikeDate(groups, seps)) return undefined;
  const onlyDots = seps.length > 0 && seps.every((s) => s === '.');
  if (onlyDots && (groups.length === 2 || groups.some((g) => g.length < 2))) return undefined;
  if (groups.length === 2 && groups[0]!.length === 4 && groups[1]!.length === 4 && /^(19|20)/.test(groups[0]!) && /^(19|20)/.test(groups[1]!)) return undefined;
  if (raw.charCodeAt(0) !== 43 && !hasCtx) {
    // Without a country code or a phone word nearby, only clearly phone-shaped numbers qualify:
    // three or more groups, not dot-separated (versions, build numbers), no lone digit groups but the first.
    if (groups.length < 3 || onlyDots) return undefined;
    // ddd-dd-dddd is the SSN shape; a phone written that way needs a phone word.
    if (groups.length === 3 && groups[0]!.length === 3 && groups[1]!.length === 2 && groups[2]!.length === 4) return undefined;
    for (let i = 1; i < groups.length; i++) if (groups[i]!.length < 2) return undefined;
  }
  if (budget === undefined) return validate(span, regions, hasCtx, mayBeIn, undefined);
  // Once the parses are spent the shape decides, which costs less than building a memo key.
  if (budget.spent) return validate(span, regions, hasCtx, mayBeIn, budget);
  // The groups and separators are the raw text's own digit runs and the gaps between them, so the
  // raw text and the context flag determine the decision.
  const key = (hasCtx ? '1' : '0') + raw;
  const seen = budget.recall(key);
  if (seen !== undefined) return seen ?? undefined;
  const decided = validate(span, regions, hasCtx, mayBeIn, budget);
  budget.remember(key, decided ?? null);
  return decided;
}

/** libphonenumber's verdict on a candidate that passed the shape checks, or the shape's alone once the budget is spent. */
function validate(span: PhoneSpan, regions: readonly CountryCode[], hasCtx: boolean, mayBeIn: ((region: CountryCode, written: string) => boolean) | undefined, budget: ScanBudget | undefined): string | undefined {
  const { raw, groups } = span;
  let written = '';
  for (const g of groups) written += g;
  if (raw.charCodeAt(0) === 43) {
    // E.164: a country code and national number, 7 to 15 digits in all (checked above).
    if (budget !== undefined && !budget.takeParse()) return structural(budget);
    const parsed = parsePhoneNumberFromString(raw);
    return parsed?.isValid() ? parsed.number : undefined;
  }
  for (let r = 0; r < regions.length; r++) {
    const region = regions[r]!;
    if (mayBeIn !== undefined && !mayBeIn(region, written)) continue;
    if (budget !== undefined && !budget.takeParse()) {
      // The regions not parsed yet: a length one of them allows is enough.
      return structural(budget);
    }
    const parsed = parsePhoneNumberFromString(raw, region);
    if (parsed?.isValid() && (hasCtx || dialledAsWritten(written, groups, parsed))) return parsed.number;
  }
  return undefined;
}

/**
 * What a phone redacted by shape alone is fingerprinted as: one value for all of them. A hostile body
 * holds tens of thousands (an HMAC each was a third of its scan), and digits that were never validated
 * are no phone to join on downstream; `hash` replaces them all with the same token.
 */
export const UNVALIDATED_PHONE = 'unvalidated';

/**
 * The fail-closed decision once the parses are spent: the candidate already has a phone's shape
 * (7–15 digits, grouping, no date/version/SSN shape, and, written nationally, a length some configured
 * region not yet parsed allows), so it is treated as a phone.
 */
function structural(budget: ScanBudget): string {
  budget.structural++;
  return UNVALIDATED_PHONE;
}

/**
 * libphonenumber accepts a national number with its trunk prefix left out (`415-555-2671-42` is a
 * valid German fixed line as 04155 55267142), but nobody writes one that way: without a phone word
 * the digits must be the national format's digits (trunk prefix included), or the country code
 * after 00/011 (or NANP's 1) followed by the national significant number. And a written number is
 * grouped the way its country groups it: at least half the written breaks must fall on breaks of the
 * national or international format (counted from the end, where both agree), else the groups
 * belong to some other identifier (`045-047-9756-30` is 04504 7975630 in Germany).
 */
function dialledAsWritten(written: string, groups: readonly string[], parsed: PhoneNumber): boolean {
  const national = parsed.formatNational();
  if (written !== national.replace(/\D/g, '')) {
    const nsn = parsed.nationalNumber;
    if (!written.endsWith(nsn)) return false;
    const lead = written.slice(0, written.length - nsn.length);
    const cc = parsed.countryCallingCode;
    if (!(lead === `00${cc}` || lead === `011${cc}` || (cc === '1' && lead === '1'))) return false;
  }
  if (groups.length < 2) return true;
  const breaks = new Set([...breaksFromEnd(national), ...breaksFromEnd(parsed.formatInternational())]);
  // A short last group off the format's breaks is a reference's check or sequence digits (`…-7704-72`);
  // countries that end numbers in pairs (FR 01 42 68 53 00, CH 044 668 18 00) have that break in their format.
  const last = groups[groups.length - 1]!.length;
  if (last <= 2 && !breaks.has(last)) return false;
  let fromEnd = 0;
  let onFormat = 0;
  for (let i = groups.length - 1; i > 0; i--) {
    fromEnd += groups[i]!.length;
    if (breaks.has(fromEnd)) onFormat++;
  }
  return onFormat * 2 >= groups.length - 1;
}

/** Digit counts from the end of a formatted number to each break between its digit groups. */
function breaksFromEnd(formatted: string): number[] {
  const out: number[] = [];
  let digits = 0;
  let inGroup = false;
  for (let i = formatted.length - 1; i >= 0; i--) {
    const c = formatted.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      inGroup = true;
    } else if (inGroup) {
      out.push(digits);
      inGroup = false;
    }
  }
  return out;
}
