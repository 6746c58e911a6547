import { hashCanonical } from '../../audit/chain.js';
import { boundEvent } from '../../audit/record-limit.js';
import type { EgressEvent } from '../../events/types.js';

/** One group commit's records as they go to disk: chained from `prev` at `seq`, each line canonical JSON plus its hash. */
export interface EncodedGroup {
  /** The lines, in pieces of about 1 MiB (a group of large records must not become one string past V8's limit). */
  chunks: Uint8Array[];
  bytes: number;
  /** Hash of the last record: the next group's `prev_hash`. */
  lastHash: string;
  /** Earliest and latest record `time` in the group (epoch ms); null when none parses. */
  minTime: number | null;
  maxTime: number | null;
  truncated: number;
  stubbed: number;
  /** `<outcome> seq N (decision D)` for each record cut to size or stubbed (at most 5 kept, `cutCount` counts all). */
  cut: string[];
  cutCount: number;
}

/**
 * Encodes one group: each event bounded to the record size cap, serialized once as canonical JSON (which serves both the
 * hash and the stored line), chained to the previous record's hash. Pure CPU and deterministic: it runs in the encoder
 * worker (src/store/embedded/audit-encode-worker.ts), or here in-thread when that worker is unavailable.
 */
export function encodeGroup(events: readonly EgressEvent[], firstSeq: number, prevHash: string): EncodedGroup {
  let seq = firstSeq;
  let prev = prevHash;
  let minTime: number | null = null;
  let maxTime: number | null = null;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let parts: string[] = [];
  let partChars = 0;
  const out = { truncated: 0, stubbed: 0, cut: [] as string[], cutCount: 0 };
  const flush = () => {
    const buf = Buffer.from(parts.join(''));
    // Its own ArrayBuffer (not Node's shared pool), so that it can be transferred to the store's thread without a copy.
    const own = new Uint8Array(buf.length);
    own.set(buf);
    chunks.push(own);
    bytes += own.length;
    parts = [];
    partChars = 0;
  };
  for (const e of events) {
    const bounded = boundEvent(e, { seq, prev_hash: prev });
    if (bounded.outcome !== 'whole') {
      out.cutCount++;
      if (out.cut.length < 5) out.cut.push(`${bounded.outcome} seq ${seq}${e.decision_id ? ` (decision ${String(e.decision_id).slice(0, 64)})` : ''}`);
      if (bounded.outcome === 'truncated') out.truncated++;
      else out.stubbed++;
    }
    const canonical = bounded.canonical;
    const hash = hashCanonical(prev, canonical);
    const line = `${canonical.slice(0, -1)},"hash":"${hash}"}\n`;
    parts.push(line);
    partChars += line.length;
    if (partChars >= 1 << 20) flush();
    const t = Date.parse(bounded.event.time);
    if (Number.isFinite(t)) {
      if (minTime === null || t < minTime) minTime = t;
      if (maxTime === null || t > maxTime) maxTime = t;
    }
    prev = hash;
    seq++;
  }
  if (parts.length) flush();
  return { chunks, bytes, lastHash: prev, minTime, maxTime, ...out };
}
