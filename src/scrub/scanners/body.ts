import type { DetectorSet, ScanOptions } from '../engine.js';
import { scrubJson } from './json.js';
import type { ScrubResult } from './result.js';
import { scrubText } from './text.js';
import { scrubUrlEncoded } from './urlencoded.js';

export type BodyMode = 'json' | 'form' | 'text' | 'headers-only';

export interface BodySummary {
  mode: BodyMode;
  contentType: string | undefined;
  /** UTF-16 code units scanned (0 in headers-only mode). */
  charsScanned: number;
  /** Why the body was not scanned, or scanned differently than its content type says, or that its phone budget ran out. */
  note?: string;
  /**
   * Phone-shaped candidates redacted by shape alone because the body spent its libphonenumber budget
   * (CompileOptions.phoneParseBudget): a hostile or unusual body; absent when 0.
   */
  phoneBudgetExhausted?: number;
}

export interface BodyScrubResult extends ScrubResult {
  summary: BodySummary;
}

const TEXTUAL = new Set([
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/graphql',
  'application/x-ndjson',
  'application/jsonl',
  'application/json-seq',
  'application/yaml',
  'application/x-yaml',
  'application/csv',
  'application/sql',
  'application/x-sh',
  'application/soap+xml',
]);

/** Decisions for the content types seen; there are few distinct ones, and parsing one is 2 % of a small body's scan. */
const modeMemo = new Map<string, { mode: BodyMode; note?: string }>();
/** Longer types (a workload can send any) are parsed every time, so the memo stays within 256 x 128 chars. */
const MEMO_MAX_LENGTH = 128;

/** How a body with this Content-Type is scanned. Anything not known to be text is left alone (headers only). */
export function bodyModeFor(contentType: string | undefined): { mode: BodyMode; note?: string } {
  if (contentType === undefined || contentType.length > MEMO_MAX_LENGTH) return modeOf(contentType);
  let mode = modeMemo.get(contentType);
  if (mode === undefined) {
    mode = Object.freeze(modeOf(contentType));
    if (modeMemo.size >= 256) modeMemo.clear();
    modeMemo.set(contentType, mode);
  }
  return mode;
}

function modeOf(contentType: string | undefined): { mode: BodyMode; note?: string } {
  if (contentType === undefined || contentType.trim() === '') return { mode: 'text', note: 'no content type; scanned as text' };
  const [media = '', ...params] = contentType.toLowerCase().split(';').map((p) => p.trim());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset !== undefined && !['utf-8', 'utf8', 'us-ascii', 'ascii', 'iso-8859-1', 'latin1'].includes(charset)) {
    return { mode: 'headers-only', note: `charset ${charset} is not scanned; headers only` };
  }
  if (media === 'application/json' || media.endsWith('+json')) return { mode: 'json' };
  if (media === 'application/x-www-form-urlencoded') return { mode: 'form' };
  if (media.startsWith('text/') || media.endsWith('+xml') || TEXTUAL.has(media)) return { mode: 'text' };
  return { mode: 'headers-only', note: `content type ${media} is not scannable; headers only` };
}

export function isScannableContentType(contentType: string | undefined): boolean {
  return bodyModeFor(contentType).mode !== 'headers-only';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/**
 * Decodes a body as UTF-8. Imperfect text is still text: an invalid byte becomes U+FFFD and a NUL
 * stays a character, so one stray byte cannot switch scanning off (`lossy` says it happened).
 */
export function decodeBody(body: string | Uint8Array): { text: string; lossy: boolean } {
  if (typeof body === 'string') return { text: body, lossy: false };
  try {
    return { text: utf8.decode(body), lossy: false };
  } catch {
    return { text: lenient.decode(body), lossy: true };
  }
}

/** Scans and scrubs one whole (buffered) body according to its Content-Type. */
export function scrubBody(set: DetectorSet, body: string | Uint8Array, contentType?: string, given: ScanOptions = {}): BodyScrubResult {
  const { mode, note } = bodyModeFor(contentType);
  const opts = set.budgeted(given);
  const budget = opts.context.budget;
  /** The budget's note and count, added once the scan is done. */
  const withBudget = (r: BodyScrubResult): BodyScrubResult => {
    const spent = budget.note();
    if (spent === undefined) return r;
    return { ...r, summary: { ...r.summary, note: r.summary.note !== undefined ? `${r.summary.note}; ${spent}` : spent, phoneBudgetExhausted: budget.structural } };
  };
  const headersOnly = (why: string | undefined): BodyScrubResult => ({
    output: typeof body === 'string' ? body : '',
    findings: [],
    changed: false,
    blocked: false,
    summary: { mode: 'headers-only', contentType, charsScanned: 0, ...(why !== undefined ? { note: why } : {}) },
  });
  if (mode === 'headers-only') return headersOnly(note);
  const { text, lossy } = decodeBody(body);
  const why = lossy ? [note, 'body is not valid UTF-8: invalid bytes scanned as U+FFFD (and sent as such where scrubbed)'].filter((n) => n !== undefined).join('; ') : note;
  const summary: BodySummary = { mode, contentType, charsScanned: text.length, ...(why !== undefined ? { note: why } : {}) };
  if (mode === 'json') {
    const r = scrubJson(set, text, opts);
    const { note: jsonNote, ...rest } = r;
    return withBudget({ ...rest, summary: jsonNote !== undefined ? { ...summary, mode: 'text', note: summary.note !== undefined ? `${jsonNote}; ${summary.note}` : jsonNote } : summary });
  }
  if (mode === 'form') return withBudget({ ...scrubUrlEncoded(set, text, 'form', opts), summary });
  return withBudget({ ...scrubText(set, text, opts), summary });
}
