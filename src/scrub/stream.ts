import { applyDecoded, applyDecodedJson, decodedView, encodeFormComponent, JsonStringState, rawAt } from './decode.js';
import type { DetectorSet, ScanOptions } from './engine.js';
import { bodyModeFor, type BodyMode } from './scanners/body.js';
import type { Finding } from './types.js';

export interface StreamStep {
  /** Scrubbed text that is safe to forward now (possibly empty while data is held back). */
  output: string;
  /** Findings completed in this step; offsets are absolute UTF-16 offsets in the raw (undecoded) stream text. */
  findings: Finding[];
  /** True once any finding so far had the `block` action. */
  blocked: boolean;
  /** Set on the step where the stream's phone budget first ran out (see ScanBudget): the scan is over-redacting from there on. */
  note?: string;
}

export interface BodyStream {
  readonly mode: BodyMode;
  push(chunk: string | Uint8Array): StreamStep;
  end(): StreamStep;
  /** Raw chars held back right now (bounded by one chunk plus `maxCarryRaw`). */
  readonly pending: number;
  /** Phone-shaped candidates redacted by shape alone so far, because the stream spent its phone budget. */
  readonly phoneBudgetExhausted: number;
}

/** Decoded text before the emitted boundary kept only as context for context-word detectors. */
const LOOKBEHIND = 64;
/** Most raw chars one decoded UTF-16 unit can take: `\uXXXX` in JSON, or 4 percent-encoded bytes for a surrogate pair in a form. */
export const MAX_RAW_PER_UNIT = 6;

/** Raw chars a stream of this set may hold back beyond the current chunk. */
export function maxCarryRaw(set: DetectorSet): number {
  return set.maxMatchLength * MAX_RAW_PER_UNIT;
}

/**
 * Chunk-by-chunk scrubbing for bodies beyond the buffer limit. Each step decodes the held-back
 * tail plus the new chunk as its mode requires (percent-decoding for forms, JSON escapes for JSON),
 * scans the decoded text, and emits everything except the last `set.maxMatchLength` decoded chars,
 * so a value split across chunks (or across an escape) is still seen whole on the next step.
 * Replacements land on the raw range, encoded for where they land (form component, JSON string,
 * or a quoted JSON string outside one). Memory per stream: one chunk + `maxCarryRaw(set)` raw
 * chars + 64 chars of context. Invalid UTF-8 is scanned as U+FFFD. Binary types pass through.
 */
export function createBodyStream(set: DetectorSet, contentType: string | undefined, given: ScanOptions = {}): BodyStream {
  const { mode } = bodyModeFor(contentType);
  // One phone budget for the whole stream, however it is chunked.
  const opts = set.budgeted(given);
  const budget = opts.context.budget;
  let noted = false;
  const carry = set.maxMatchLength;
  const decoder = new TextDecoder('utf-8');
  let lookbehind = '';
  let pending = '';
  /** Absolute raw offset of `pending[0]` in the stream. */
  let base = 0;
  let blocked = false;
  const json = new JsonStringState();

  function step(final: boolean): StreamStep {
    if (mode === 'headers-only') {
      const output = pending;
      base += pending.length;
      pending = '';
      return { output, findings: [], blocked };
    }
    const view = decodedView(mode, pending);
    const limit = final ? view.text.length : view.text.length - carry;
    if (limit <= 0) return { output: '', findings: [], blocked };
    const text = lookbehind + view.text;
    const shift = lookbehind.length;
    const all = set.scanText(text, opts);
    const local: Finding[] = [];
    let boundary = limit;
    for (const f of all) {
      if (f.start < shift) continue;
      if (f.start - shift >= limit) break;
      local.push({ ...f, start: f.start - shift, end: f.end - shift });
      if (f.end - shift > boundary) boundary = f.end - shift;
    }
    let rawBoundary = final ? pending.length : rawAt(view, boundary);
    // Never split a surrogate pair between two outputs: each is encoded to UTF-8 on its own.
    const last = pending.charCodeAt(rawBoundary - 1);
    if (!final && last >= 0xd800 && last <= 0xdbff) rawBoundary--;
    if (rawBoundary <= 0) return { output: '', findings: [], blocked };
    const emitted = pending.slice(0, rawBoundary);
    let output: string;
    if (mode === 'json') {
      output = applyDecodedJson(emitted, view, local, json);
    } else if (mode === 'form') {
      output = applyDecoded(emitted, view, local, encodeFormComponent);
    } else output = applyDecoded(emitted, view, local);
    const findings: Finding[] = [];
    for (const f of local) {
      findings.push({ ...f, start: base + rawAt(view, f.start), end: base + rawAt(view, f.end) });
      if (f.action === 'block') blocked = true;
    }
    const spent = noted ? undefined : budget.note();
    if (spent !== undefined) noted = true;
    const emittedUnits = view.map === undefined ? rawBoundary : unitsBefore(view.map, rawBoundary);
    lookbehind = (lookbehind + view.text.slice(0, emittedUnits)).slice(-LOOKBEHIND);
    pending = pending.slice(rawBoundary);
    base += rawBoundary;
    return { output, findings, blocked, ...(spent !== undefined ? { note: spent } : {}) };
  }

  return {
    mode,
    get pending() {
      return pending.length;
    },
    get phoneBudgetExhausted() {
      return budget.structural;
    },
    push(chunk) {
      pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      return step(false);
    },
    end() {
      pending += decoder.decode();
      return step(true);
    },
  };
}

/** Decoded units whose raw start lies before `raw` (the map is non-decreasing). */
function unitsBefore(map: Int32Array, raw: number): number {
  let lo = 0;
  let hi = map.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]! < raw) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
