import { applyFindings } from './actions.js';
import type { DetectorSet, ScanOptions } from './engine.js';
import { bodyModeFor, type BodyMode } from './scanners/body.js';
import type { Finding } from './types.js';

export interface StreamStep {
  /** Scrubbed text that is safe to forward now (possibly empty while data is held back). */
  output: string;
  /** Findings completed in this step; offsets are absolute UTF-16 offsets in the decoded stream. */
  findings: Finding[];
  /** True once any finding so far had the `block` action. */
  blocked: boolean;
}

export interface BodyStream {
  readonly mode: BodyMode;
  push(chunk: string | Uint8Array): StreamStep;
  end(): StreamStep;
  /** Chars held back right now (bounded by `carry` plus one chunk). */
  readonly pending: number;
}

/** Text before the emitted boundary kept only as context for context-word detectors. */
const LOOKBEHIND = 64;

/**
 * Chunk-by-chunk scrubbing for bodies beyond the buffer limit. Each step scans the held-back tail
 * plus the new chunk and emits everything except the last `set.maxMatchLength` chars, so a token
 * split across chunks is still seen whole on the next step. Memory per stream is bounded by
 * one chunk + `set.maxMatchLength` (16 KiB, the longest private-key block) + 64 chars of context.
 * JSON bodies are scanned as text (a partial document cannot be parsed); a replacement that
 * lands outside a JSON string is quoted so the document stays valid. Binary types pass through.
 */
export function createBodyStream(set: DetectorSet, contentType: string | undefined, opts: ScanOptions = {}): BodyStream {
  const { mode } = bodyModeFor(contentType);
  const carry = set.maxMatchLength;
  const decoder = new TextDecoder('utf-8');
  let lookbehind = '';
  let pending = '';
  /** Absolute offset of `pending[0]` in the decoded stream. */
  let base = 0;
  let blocked = false;
  let inString = false;
  let escaped = false;

  function trackJson(text: string, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (escaped) escaped = false;
      else if (c === 92) escaped = inString;
      else if (c === 34) inString = !inString;
    }
  }

  function step(final: boolean): StreamStep {
    if (mode === 'headers-only') {
      const output = pending;
      base += pending.length;
      pending = '';
      return { output, findings: [], blocked };
    }
    const limit = final ? pending.length : pending.length - carry;
    if (limit <= 0) return { output: '', findings: [], blocked };
    const text = lookbehind + pending;
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
    const emitted = pending.slice(0, boundary);
    let output: string;
    if (mode === 'json') {
      let cursor = 0;
      const quoted = new Set<Finding>();
      for (const f of local) {
        trackJson(emitted, cursor, f.start);
        cursor = f.start;
        if (!inString) quoted.add(f);
      }
      trackJson(emitted, cursor, emitted.length);
      output = applyFindings(emitted, local, (rep, f) => (quoted.has(f) ? JSON.stringify(rep) : JSON.stringify(rep).slice(1, -1)));
    } else if (mode === 'form') {
      output = applyFindings(emitted, local, (rep) => encodeURIComponent(rep));
    } else output = applyFindings(emitted, local);
    const findings = local.map((f) => ({ ...f, start: f.start + base, end: f.end + base }));
    if (findings.some((f) => f.action === 'block')) blocked = true;
    lookbehind = (lookbehind + emitted).slice(-LOOKBEHIND);
    pending = pending.slice(boundary);
    base += boundary;
    return { output, findings, blocked };
  }

  return {
    mode,
    get pending() {
      return pending.length;
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
