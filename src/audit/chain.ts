import { hash } from 'node:crypto';

/** `prev_segment_hash` of the very first segment. */
export const ZERO_HASH = '0'.repeat(64);

/** Deeper nesting than any event has: a cycle or a hostile value, refused at once rather than by a stack overflow. */
const MAX_DEPTH = 64;

/** JSON with object keys sorted at every level and undefined members left out, so a record hashes the same after a parse/stringify round trip. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= MAX_DEPTH) throw new TypeError(`value nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${value[i] === undefined ? 'null' : canonicalJson(value[i], depth + 1)}`;
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${quoteKey(k)}:${canonicalJson(v, depth + 1)}`;
  }
  return `${out}}`;
}

const quotedKeys = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 1024) quotedKeys.set(k, q);
  }
  return q;
}

/** SHA-256 (hex) over `prev_hash` followed by the canonical JSON of the record without its `hash` member. */
export function recordHash(prevHash: string, record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return hashCanonical(prevHash, canonicalJson(rest));
}

/** `recordHash` for a record already in canonical JSON (the writer serializes each record once). */
export function hashCanonical(prevHash: string, canonical: string): string {
  // One-shot crypto.hash (Node 20.12+): about half the cost of a Hash object per record, same digest.
  return hash('sha256', prevHash + canonical, 'hex');
}

/**
 * First line of every segment. Its hash (the segment's genesis) is the first record's `prev_hash`, so each segment
 * verifies on its own; `prev_segment_hash` (the previous segment's last record hash) links the segments in order.
 */
export interface SegmentHeader {
  audit_segment: 1;
  first_seq: number;
  created: string;
  prev_segment_hash: string;
}

export function headerHash(header: SegmentHeader): string {
  return hash('sha256', canonicalJson(header), 'hex');
}

export function parseHeader(line: string): SegmentHeader | undefined {
  try {
    const h = JSON.parse(line) as Partial<SegmentHeader>;
    if (h.audit_segment !== 1 || !Number.isSafeInteger(h.first_seq) || typeof h.created !== 'string' || typeof h.prev_segment_hash !== 'string') return undefined;
    return h as SegmentHeader;
  } catch {
    return undefined;
  }
}
