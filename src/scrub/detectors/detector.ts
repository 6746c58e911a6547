import type { DetectorId } from '../config.js';
import type { Match, ScanContext } from '../types.js';

/**
 * One detector family. The engine runs `find` only when one of `anchors` occurs in the text
 * (a literal, case-sensitive `indexOf` prefilter) or when `keyGate` accepts the context key.
 * An empty `anchors` list means the family has its own cheap candidate pass and always runs.
 */
export interface Detector {
  readonly family: string;
  readonly ids: readonly DetectorId[];
  readonly anchors: readonly string[];
  /** Longest text a single match can span; the streaming scanner carries this much over. */
  readonly maxLength: number;
  /** Precedence when two families claim overlapping text: higher wins. */
  readonly priority: number;
  keyGate?(key: string): boolean;
  /** Append matches to `out`; `firstAnchor` is the lowest anchor position (0 when key-gated or anchorless). */
  find(text: string, firstAnchor: number, ctx: ScanContext, out: Match[]): void;
}
