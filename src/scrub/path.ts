import { decodePercent } from './decode.js';
import { compileDetectors, type DetectorSet } from './engine.js';
import { charClasses, shannonEntropy } from './validators/entropy.js';
import type { ScanBudget } from './scan-budget.js';

/** Every detector, whatever a policy enables: what may be stored is stricter than what is scrubbed. */
let shared: DetectorSet | undefined;
function allDetectors(): DetectorSet {
  shared ??= compileDetectors();
  return shared;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{12,}$/i;
const NUMBER = /^[0-9]+$/;
/** Prefixed ids such as `cus_NffrFeUfNV2Hib` or `ch_3MmlLr`: a word, "_" or "-", then a token with digits or mixed case. */
const PREFIXED_ID = /^[a-z]{1,8}[_-][A-Za-z0-9]{6,}$/;
/** A segment a template may keep: a plain word of at most 32 chars, nothing encoded. */
const PLAIN_SEGMENT = /^[A-Za-z][A-Za-z0-9._~-]{0,31}$/;
const MAX_PATH = 512;
/** Raw path characters examined at most (a Check's headers may be 256 KiB); the rest of a longer path is not stored. */
const MAX_SCANNED = 8192;
/** Segments examined past the cut, so a number written across it (`/4111/1111/…`) is still seen whole. */
const CUT_SPAN_SEGMENTS = 8;
/** Segments repeat across requests (`v1`, `charges`); the detectors run once per distinct one. */
const MEMO_LIMIT = 4096;
/** Longer segments (a caller can send any) are decided every time, so the memo stays within 4096 x 128 chars. */
const MEMO_MAX_LENGTH = 128;

function isId(seg: string): boolean {
  if (NUMBER.test(seg) || UUID.test(seg) || HEX.test(seg)) return true;
  if (PREFIXED_ID.test(seg) && /[0-9A-Z]/.test(seg.slice(seg.search(/[_-]/) + 1))) return true;
  // Long opaque tokens (base64ish with digits) are ids, plain words are not.
  return seg.length >= 16 && /[0-9]/.test(seg) && /^[A-Za-z0-9_-]+$/.test(seg);
}

/** An opaque credential no detector knows (an unknown vendor's key): long, mixed letters and digits, high entropy. */
function looksSecret(seg: string): boolean {
  if (seg.length < 20 || UUID.test(seg) || HEX.test(seg)) return false;
  const c = charClasses(seg);
  return c.digit > 0 && c.lower + c.upper > 0 && shannonEntropy(seg) >= 3.5;
}

type Segment = (seg: string, budget: ScanBudget) => string;

/**
 * Answers per distinct segment, shared by every path. An answer given by shape alone because this path spent its
 * phone budget is not kept: it holds for this path only, and would otherwise redact the segment in other callers' paths.
 */
function memo(fn: Segment): Segment {
  const cache = new Map<string, string>();
  return (seg, budget) => {
    let out = cache.get(seg);
    if (out === undefined) {
      const byShape = budget.structural;
      out = fn(seg, budget);
      if (budget.structural !== byShape || seg.length > MEMO_MAX_LENGTH) return out;
      if (cache.size >= MEMO_LIMIT) cache.clear();
      cache.set(seg, out);
    }
    return out;
  };
}

/** Segments no detector can flag (every detected value has a digit, `@`, an upper-case letter or a prefix with a digit). */
const PLAIN_LOWER = /^[a-z][a-z_-]{0,31}$/;
const SHORT_NUMBER = /^[0-9]{1,6}$/;
const DIGITS = /^[0-9]+$/;

function findingTypes(seg: string, budget: ScanBudget): string[] {
  if (PLAIN_LOWER.test(seg) || SHORT_NUMBER.test(seg) || UUID.test(seg)) return [];
  const decoded = seg.includes('%') ? decodePercent(seg, 0, seg.length, false).text : seg;
  return allDetectors()
    .match(decoded, { budget })
    .map((m) => m.type);
}

const templateSegment = memo((seg, budget) => (PLAIN_SEGMENT.test(seg) && !isId(seg) && findingTypes(seg, budget).length === 0 ? seg : '{id}'));

const auditSegment = memo((seg, budget) => {
  const types = findingTypes(seg, budget);
  if (types.length > 0) return `{${[...new Set(types)].join(',')}}`;
  if (seg.length > 64) return '{long}';
  return looksSecret(seg) ? '{secret}' : seg;
});

function segments(path: string, each: Segment, acrossSegments = false): string {
  const q = path.search(/[?#]/);
  const bare = q === -1 ? path : path.slice(0, q);
  if (bare === '' || bare === '/') return bare === '' ? '' : '/';
  const segs = bare.split('/');
  // One phone budget for the whole path, like a body's: a budget per segment let thousands of segments add up.
  const budget = allDetectors().newBudget();
  // Only what can be kept is examined: once the output passes MAX_PATH (plus a few segments, for a number spread
  // across the cut) or MAX_SCANNED raw characters were looked at, the rest is dropped unread. A denied Check with a
  // 48 KB path of phone-shaped decoys cost ~130 ms of event-loop CPU before this; now it costs what 8 KB does.
  let kept = segs.length;
  let outLength = 0;
  let scanned = 0;
  let stopAt = -1;
  for (let i = 0; i < segs.length; i++) {
    if (i === stopAt || scanned > MAX_SCANNED) {
      kept = i;
      break;
    }
    scanned += segs[i]!.length;
    if (segs[i] !== '') segs[i] = each(segs[i]!, budget);
    outLength += segs[i]!.length + 1;
    if (stopAt === -1 && outLength > MAX_PATH) stopAt = i + 1 + CUT_SPAN_SEGMENTS;
  }
  const dropped = kept < segs.length;
  if (dropped) segs.length = kept;
  if (acrossSegments) redactAcross(segs, budget);
  const out = segs.join('/');
  if (out.length > MAX_PATH) return `${out.slice(0, MAX_PATH)}…`;
  return dropped ? `${out}/…` : out;
}

/** A number spread over several kept segments (`/4111/1111/1111/1111`, `/536/22/8514`): those segments take its type. */
function redactAcross(segs: string[], budget: ScanBudget): void {
  let adjacent = false;
  for (let i = 1; i < segs.length && !adjacent; i++) adjacent = DIGITS.test(segs[i]!) && DIGITS.test(segs[i - 1]!);
  if (!adjacent) return;
  const text = segs.join(' ');
  const found = allDetectors().match(text, { budget });
  if (found.length === 0) return;
  let start = 0;
  for (let i = 0; i < segs.length; i++) {
    const end = start + segs[i]!.length;
    const hit = found.find((m) => m.start < end && start < m.end);
    if (hit !== undefined) segs[i] = `{${hit.type}}`;
    start = end + 1;
  }
}

/**
 * `/v1/customers/cus_NffrFeUfNV2Hib/charges/42?x=1` → `/v1/customers/{id}/charges/{id}`: only plain
 * words survive, anything else (ids, numbers, encoded text, long or mixed segments, any segment a
 * detector flags) becomes `{id}`, and the query is dropped; a template cannot carry a value.
 */
export function templatePath(path: string): string {
  const t = segments(path, templateSegment);
  return t === '' ? '/' : t;
}

/**
 * The path as audit records keep it: without the query and fragment, a segment holding a detected
 * value replaced by its types (`/u/{email}`), an unknown opaque credential by `{secret}`, and a
 * segment over 64 chars by `{long}`; ids that are not secrets (`cus_…`, UUIDs, numbers) stay for forensics.
 */
export function redactPath(path: string): string {
  return segments(path, auditSegment, true);
}

/**
 * A path template received from elsewhere (an event, a stored inventory key) made safe to store:
 * placeholders and short numbers stay, any other segment must pass as a template segment.
 */
export function storedTemplate(template: string): string {
  return segments(template, (seg, budget) => (/^\{[a-z_,]+\}$/.test(seg) || /^[0-9]{1,6}$/.test(seg) ? seg : templateSegment(seg, budget))) || '/';
}

const PLAIN_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `x-request-id` as records keep it: the workload can set it to anything, so an id that is not a
 * UUID or a plain token free of findings becomes `fp:` + its keyed fingerprint (it still joins
 * ext_authz, ext_proc and the access log within this process).
 */
export function storedRequestId(id: string | undefined): string | undefined {
  if (id === undefined || id === '') return undefined;
  if (UUID.test(id)) return id;
  const set = allDetectors();
  return PLAIN_REQUEST_ID.test(id) && set.match(id).length === 0 ? id : `fp:${set.fingerprint('request_id', id)}`;
}

/** Free text that quotes request parts (a decision's reason): every detected value becomes `{type}`. */
export function redactText(text: string): string {
  const found = allDetectors().match(text);
  if (found.length === 0) return text;
  let out = '';
  let pos = 0;
  for (const m of found) {
    out += `${text.slice(pos, m.start)}{${m.type}}`;
    pos = m.end;
  }
  return out + text.slice(pos);
}

/** HTTP methods are short upper-case words; anything else (a client can send any token as a method) is not kept. */
export function storedMethod(method: string): string {
  return /^[A-Z]{1,12}$/.test(method) ? method : 'OTHER';
}
