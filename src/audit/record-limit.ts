import type { EgressEvent } from '../events/types.js';
import { canonicalJson } from './chain.js';

/** Most bytes one stored audit record may take (its canonical JSON, before seq and the hashes). */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Longest string member kept whole; longer ones are cut and the record marked truncated. */
const MAX_STRING_CHARS = 4096;
/** Room left for seq, prev_hash, hash and the truncation marks. */
const RESERVE_BYTES = 1024;

/** What bounding did to a record, stored in it so that a reader knows it is not whole. */
export interface TruncationMarks {
  truncated?: true;
  /** Per array member: how many elements were left out. */
  dropped?: Record<string, number>;
  /** Per array member of typed elements (findings): left-out elements by `type`. */
  dropped_types?: Record<string, Record<string, number>>;
  /** The event could not be serialized at all; this stub stands for it. */
  unserializable?: string;
}

export type BoundedEvent = EgressEvent & TruncationMarks;

export interface BoundResult {
  event: BoundedEvent;
  /** Canonical JSON of `event`, within `maxBytes`. */
  canonical: string;
  outcome: 'whole' | 'truncated' | 'stub';
}

/**
 * Bounds one event for the audit log: returns it unchanged when its canonical JSON fits, otherwise cuts long strings and
 * arrays (counting what was left out) and marks it `truncated`; an event that cannot be serialized at all (a cycle, a
 * BigInt, a string past V8's limit) becomes a small stub naming what happened. Never throws.
 */
export function boundEvent(e: EgressEvent, extra: Record<string, unknown>, maxBytes = MAX_RECORD_BYTES): BoundResult {
  if (looksSmall(e)) {
    try {
      const canonical = canonicalJson({ ...e, ...extra });
      if (Buffer.byteLength(canonical) <= maxBytes) return { event: e, canonical, outcome: 'whole' };
    } catch {
      // fall through: cut it down, or stub it
    }
  }
  try {
    const cut = shrink(e, maxBytes - RESERVE_BYTES);
    const canonical = canonicalJson({ ...cut, ...extra });
    if (Buffer.byteLength(canonical) <= maxBytes) return { event: cut, canonical, outcome: 'truncated' };
    return stubbed(e, extra, `record still over ${maxBytes} bytes after truncation`);
  } catch (err) {
    return stubbed(e, extra, `${(err as Error).name ?? 'Error'}: ${String((err as Error).message ?? err).slice(0, 200)}`);
  }
}

/** Cheap pre-check so that the common small record is serialized once: no huge arrays or strings at the top level. */
function looksSmall(e: EgressEvent): boolean {
  for (const v of Object.values(e)) {
    if (typeof v === 'string' && v.length > MAX_STRING_CHARS) return false;
    if (Array.isArray(v) && v.length > 256) return false;
  }
  return true;
}

function clip(s: string): string {
  return s.length > MAX_STRING_CHARS ? `${s.slice(0, MAX_STRING_CHARS)}…` : s;
}

function shrink(e: EgressEvent, budget: number): BoundedEvent {
  const out: Record<string, unknown> = {};
  const marks: TruncationMarks = { truncated: true };
  const arrays: Array<[string, unknown[]]> = [];
  let used = 2;
  for (const [k, v] of Object.entries(e)) {
    if (Array.isArray(v)) arrays.push([k, v]);
    else if (typeof v === 'string') out[k] = clip(v);
    else if (v !== null && typeof v === 'object') {
      const text = canonicalJson(v);
      if (text.length > MAX_STRING_CHARS) (marks.dropped ??= {})[k] = 1;
      else out[k] = v;
    } else out[k] = v;
  }
  used += canonicalJson(out).length;
  const share = arrays.length ? Math.max(0, budget - used) / arrays.length : 0;
  for (const [k, arr] of arrays) {
    const kept: unknown[] = [];
    let size = 2;
    let i = 0;
    for (; i < arr.length; i++) {
      const el = arr[i];
      const text = canonicalJson(typeof el === 'string' ? clip(el) : el);
      if (size + text.length + 1 > share) break;
      kept.push(typeof el === 'string' ? clip(el) : el);
      size += text.length + 1;
    }
    out[k] = kept;
    if (i < arr.length) {
      (marks.dropped ??= {})[k] = arr.length - i;
      const byType: Record<string, number> = {};
      let typed = false;
      for (let j = i; j < arr.length; j++) {
        const t = (arr[j] as { type?: unknown } | null)?.type;
        if (typeof t === 'string') {
          typed = true;
          const key = clip(t).slice(0, 64);
          byType[key] = (byType[key] ?? 0) + 1;
          if (Object.keys(byType).length > 64) break;
        }
      }
      if (typed) (marks.dropped_types ??= {})[k] = byType;
    }
  }
  return { ...(out as unknown as EgressEvent), ...marks };
}

function stubbed(e: EgressEvent, extra: Record<string, unknown>, why: string): BoundResult {
  const pick = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : undefined);
  const src = e as unknown as Record<string, unknown>;
  const event = {
    kind: pick(src.kind) ?? 'decision',
    time: pick(src.time) ?? new Date().toISOString(),
    request_id: pick(src.request_id),
    decision_id: pick(src.decision_id),
    identity: pick(src.identity) ?? 'unknown',
    destination: pick(src.destination) ?? 'unknown',
    method: pick(src.method) ?? '',
    path_template: pick(src.path_template) ?? '',
    truncated: true,
    unserializable: why,
  } as unknown as BoundedEvent;
  return { event, canonical: canonicalJson({ ...event, ...extra }), outcome: 'stub' };
}
