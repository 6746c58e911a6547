import type { DetectorId, ScrubAction } from './config.js';
import type { ScanBudget } from './scan-budget.js';

/** A raw detection inside one scanned string; internal only, because it points at the raw value. */
export interface Match {
  type: DetectorId;
  /** UTF-16 offsets into the scanned string. */
  start: number;
  end: number;
  /** Canonical form used for fingerprints, so `4111 1111…` and `4111-1111…` join downstream. */
  normalized?: string;
}

/** Where a finding sits in the request. Offsets are always UTF-16 offsets into the scanned string. */
export type FindingLocation =
  | { kind: 'text' }
  | { kind: 'header'; name: string }
  | { kind: 'json'; path: string }
  | { kind: 'form'; field: string }
  | { kind: 'query'; param: string };

/** A finding as reported: never the raw value, only its type, place, action and keyed fingerprint. */
export interface Finding {
  type: DetectorId;
  start: number;
  end: number;
  location: FindingLocation;
  action: ScrubAction;
  /** First 16 hex chars of HMAC-SHA256(key, type + ':' + normalized value). */
  fingerprint: string;
}

/** What the detectors may know about the scanned string besides its text. */
export interface ScanContext {
  /** Field name, JSON path or header name the text came from; used as a context word. */
  key?: string;
  /** The scan's shared libphonenumber budget and memo (one per body or stream); one per `match` call when absent. */
  budget?: ScanBudget;
}
