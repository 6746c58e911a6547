import type { CountryCode } from 'libphonenumber-js/max';
import type { DetectorId } from '../config.js';
import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { classifyCard } from './card.js';
import { classifyIpv4 } from './ip.js';
import { classifyPhone, NOT_PHONE_CONTEXT, PHONE_CONTEXT, PHONE_LABEL_AFTER } from './phone.js';
import { createRegionFilter } from './phone-regions.js';
import { ScanBudget } from '../scan-budget.js';
import { classifySsn, SSN_CONTEXT } from './ssn.js';
import { continuesAfter, continuesBefore, fieldAfter, fieldBefore, hasContext, insideEscape, isAlnum } from './context.js';

/**
 * One pass finds runs of digits joined by short separators (bounded, so linear on any input);
 * each run is cut into digit groups and the card, SSN, IPv4 and phone validators try the longest
 * group ranges first. Digits are everywhere, so this is the one family without an anchor.
 */
const NUMERIC_RUN = /[+(]?\d(?:\d|[ .\-/()]{1,3}(?=[(\d])){6,48}/g;
const MAX_GROUPS_PER_MATCH = 8;
/** Longest card, SSN, IPv4 or phone with its separators, in chars. */
const LONGEST_VALUE = 24;
/** Context words must sit close to a bare number ("Phone: 4155552671"), not a sentence away. */
const PHONE_WINDOW = 28;
/** "555 0199 (office)", "…-Fax": labels written after the number. */
const PHONE_AFTER = 16;
const EXTENSION = /^\s?(?:x|ext\.?)\s?\d{1,6}/i;

/** A range glued to more digits by a tight separator is a fragment of something longer. */
function tight(s: string): boolean {
  return s === '-' || s === '.' || s === '/';
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when the run regex stopped at its repetition bound while the digits go on (`… 1111 11|11`). */
function capped(text: string, runEnd: number): boolean {
  const c = text.charCodeAt(runEnd);
  if (isDigitCode(c)) return true;
  let k = runEnd;
  while (k < text.length && k - runEnd < 3 && ' .-/()'.includes(text[k]!)) k++;
  return k > runEnd && isDigitCode(text.charCodeAt(k));
}

function isWordChar(c: number): boolean {
  return isAlnum(c) || c === 95;
}

export interface NumericOptions {
  enabled: ReadonlySet<DetectorId>;
  phoneRegions: readonly CountryCode[];
  /** Parses per scan when the caller gave no ScanBudget (then one `find` call is the scan). */
  phoneParseBudget?: number;
}

export function createNumericDetector(opts: NumericOptions): Detector {
  const { enabled, phoneRegions, phoneParseBudget } = opts;
  const card = enabled.has('credit_card');
  const ssn = enabled.has('us_ssn');
  const ipv4 = enabled.has('ipv4');
  const phone = enabled.has('phone');
  const mayBeIn = phone ? createRegionFilter(phoneRegions) : undefined;
  /** Without the caller's ScanBudget one `find` call is the scan: its budget, made when a phone candidate first needs it (find is synchronous). */
  let callBudget: ScanBudget | undefined;
  return {
    family: 'numeric',
    ids: (['credit_card', 'us_ssn', 'ipv4', 'phone'] as const).filter((id) => enabled.has(id)),
    anchors: [],
    maxLength: 64,
    priority: 60,
    find(text: string, _first: number, ctx: ScanContext, out: Match[]): void {
      callBudget = undefined;
      NUMERIC_RUN.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = NUMERIC_RUN.exec(text)) !== null) {
        const runStart = m.index;
        const runEnd = runStart + m[0].length;
        if (insideEscape(text, runStart)) {
          // `%20415…`: the escape's hex digits are not the value's; look again right after the escape.
          NUMERIC_RUN.lastIndex = runStart + 2;
          continue;
        }
        if (continuesBefore(text, runStart)) {
          // Only the digits glued to the word belong to it: the rest of the run (`…2345  4111 1111 1111 1111`) is scanned again.
          let k = runStart + 1;
          while (k < runEnd && isDigitCode(text.charCodeAt(k))) k++;
          NUMERIC_RUN.lastIndex = k;
          continue;
        }
        if (capped(text, runEnd)) {
          // The run stopped at its length bound, not at its end: classify the whole groups before the cut,
          // then go on from the last value found (or the next group), so nothing after the cut is lost.
          let cut = runEnd;
          while (cut > runStart && isDigitCode(text.charCodeAt(cut - 1))) cut--;
          const groupEnd = cut;
          while (cut > runStart && !isDigitCode(text.charCodeAt(cut - 1))) cut--;
          const before = out.length;
          // Phones too (a list of numbers written back to back is one long run): tried only at the run start and
          // right after a match, and the scan's phone budget (ScanBudget) bounds the parses.
          if (cut > runStart) classifyRun(text, runStart, cut, ctx, out);
          // A value that reaches past the cut starts within its last LONGEST_VALUE chars: resume at a group there.
          let next = Math.max(runStart + 1, cut - LONGEST_VALUE, out.length > before ? out[out.length - 1]!.end : 0);
          while (next < groupEnd && isDigitCode(text.charCodeAt(next)) && isDigitCode(text.charCodeAt(next - 1))) next++;
          NUMERIC_RUN.lastIndex = next;
          continue;
        }
        const tail = runEnd < text.length && isWordChar(text.charCodeAt(runEnd));
        const extension = tail && EXTENSION.test(text.slice(runEnd, runEnd + 12));
        if (continuesAfter(text, runEnd) && !extension) continue;
        classifyRun(text, runStart, runEnd, ctx, out);
      }
    },
  };

  function classifyRun(text: string, runStart: number, runEnd: number, ctx: ScanContext, out: Match[], phones = phone): void {
    let prefixEnd = runStart;
    while (prefixEnd < runEnd && (text.charCodeAt(prefixEnd) === 43 || text.charCodeAt(prefixEnd) === 40)) prefixEnd++;
    // Most runs are prices, ids and times: count digits and groups first, allocate only for candidates.
    // Too short for a phone, card or SSN and not four groups for an IPv4 (the common case), or runs of
    // single digits ("1 2 3 4 …"), which only ever hold a dotted IPv4 like 1.1.1.1.
    {
      let digits = 0;
      let groupCount = 0;
      let longestGroup = 0;
      let run = 0;
      for (let k = prefixEnd; k <= runEnd; k++) {
        if (k < runEnd && isDigitCode(text.charCodeAt(k))) {
          run++;
          continue;
        }
        if (run > 0) {
          digits += run;
          groupCount++;
          if (run > longestGroup) longestGroup = run;
          run = 0;
        }
      }
      if (digits < 7 && groupCount < 4) return;
      if (longestGroup === 1 && groupCount !== 4) return;
    }
    const groups: string[] = [];
    const groupStart: number[] = [];
    const seps: string[] = [];
    let i = prefixEnd;
    while (i < runEnd) {
      const gs = i;
      while (i < runEnd && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      groups.push(text.slice(gs, i));
      groupStart.push(gs);
      const ss = i;
      while (i < runEnd && (text.charCodeAt(i) < 48 || text.charCodeAt(i) > 57)) i++;
      if (i < runEnd) seps.push(text.slice(ss, i));
    }
    // Context is looked up lazily (0 = unknown) and at most once per run: no closures in this hot path.
    let phoneCtx = 0;
    let notPhone = 0;
    let ssnCtx = 0;
    const digitsBefore = [0];
    for (const grp of groups) digitsBefore.push(digitsBefore[digitsBefore.length - 1]! + grp.length);
    let g = 0;
    let phoneFrom = 0;
    while (g < groups.length) {
      let matched = false;
      for (let h = Math.min(groups.length - 1, g + MAX_GROUPS_PER_MATCH - 1); h >= g && !matched; h--) {
        const sepBefore = g > 0 ? seps[g - 1]! : '';
        const sepAfter = h < groups.length - 1 ? seps[h]! : '';
        if (tight(sepBefore) || tight(sepAfter)) continue;
        // Cheap shape gate before any allocation: cards and SSNs need 9+ digits, IPv4 four groups,
        // phones 7+ digits and are only tried at `phoneFrom`.
        const rangeDigits = digitsBefore[h + 1]! - digitsBefore[g]!;
        if (rangeDigits < 9 && h - g !== 3 && !(g === phoneFrom && rangeDigits >= 7)) continue;
        const gGroups = groups.slice(g, h + 1);
        const gSeps = seps.slice(g, h);
        const start = groupStart[g]!;
        const end = groupStart[h]! + groups[h]!.length;
        const digits = gGroups.join('');
        const sepText = gSeps.join('');
        if (card && !(g === 0 && prefixEnd > runStart) && classifyCard(digits, sepText, gGroups)) {
          out.push({ type: 'credit_card', start, end, normalized: digits });
          matched = true;
        } else if (ssn && classifySsn(text.slice(start, end), gGroups, sepText, gGroups.length === 1 && (ssnCtx ||= hasContext(text, runStart, ctx, SSN_CONTEXT, PHONE_WINDOW) ? 1 : -1) === 1)) {
          out.push({ type: 'us_ssn', start, end, normalized: digits });
          matched = true;
        } else if (ipv4 && classifyIpv4(text, start, gGroups, sepText)) {
          out.push({ type: 'ipv4', start, end, normalized: gGroups.join('.') });
          matched = true;
        } else if (phones && !(g > 0 && prefixEnd > runStart)) {
          phoneCtx ||= hasContext(text, runStart, ctx, PHONE_CONTEXT, PHONE_WINDOW) || PHONE_CONTEXT.test(fieldAfter(text, runEnd, PHONE_AFTER)) || PHONE_LABEL_AFTER.test(fieldAfter(text, runEnd, PHONE_AFTER)) ? 1 : -1;
          notPhone ||= phoneCtx === -1 && NOT_PHONE_CONTEXT.test(fieldBefore(text, runStart, PHONE_WINDOW)) ? 1 : -1;
        }
        // Phones are tried only from the run's start or right after a previous match, so a long
        // run costs a linear number of libphonenumber parses, not one per sub-range.
        if (!matched && phones && notPhone !== 1 && g === phoneFrom) {
          let pStart = start;
          // A leading `(` belongs to the number only when it closes after the first group: `(415) 555…`, not `(415-555-2671)`.
          if (g === 0) pStart = text.charCodeAt(prefixEnd - 1) === 40 && !(seps[0] ?? '').startsWith(')') ? prefixEnd : runStart;
          else if (sepBefore.endsWith('(') || sepBefore.endsWith('+')) pStart = start - 1;
          let pEnd = end;
          if (sepAfter.startsWith(')') && text.slice(pStart, start).includes('(')) pEnd = end + 1;
          const e164 = classifyPhone({ raw: text.slice(pStart, pEnd), groups: gGroups, seps: gSeps }, phoneRegions, phoneCtx === 1, mayBeIn, ctx.budget ?? (callBudget ??= new ScanBudget(phoneParseBudget)));
          if (e164 !== undefined) {
            out.push({ type: 'phone', start: pStart, end: pEnd, normalized: e164 });
            matched = true;
          }
        }
        if (matched) g = phoneFrom = h + 1;
      }
      if (!matched) g++;
    }
  }
}
