import type { DetectorId, ScrubAction } from './config.js';
import type { Finding, FindingLocation } from './types.js';

/**
 * A finding whose keyed fingerprint is computed on first read (then kept): HMAC only for what is
 * reported. `tollgate scan --jsonl` answers without fingerprints; the audit record and `hash` read them.
 * The field is an own enumerable getter, so JSON.stringify, spreads and structured clones see a string.
 */
export function lazyFinding(type: DetectorId, start: number, end: number, location: FindingLocation, action: ScrubAction, fingerprint: () => string): Finding {
  let memo: string | undefined;
  return {
    type,
    start,
    end,
    location,
    action,
    get fingerprint(): string {
      return (memo ??= fingerprint());
    },
  };
}

/** The same finding at other offsets (raw instead of decoded, shifted into a larger text), fingerprint still lazy. */
export function movedFinding(f: Finding, start: number, end: number): Finding {
  return lazyFinding(f.type, start, end, f.location, f.action, () => f.fingerprint);
}
