import type { DetectorId } from '../../config.js';
import type { Match, ScanContext } from '../../types.js';
import { shannonEntropy } from '../../validators/entropy.js';
import { isPlaceholder } from '../../validators/placeholder.js';
import { bounded, isTokenChar } from '../context.js';
import type { Detector } from '../detector.js';

export interface Accepted {
  type: DetectorId;
  start?: number;
  end?: number;
  normalized?: string;
}

export interface RegexDetectorSpec {
  family: string;
  ids: readonly DetectorId[];
  anchors: readonly string[];
  /** Global regex with bounded quantifiers and no trailing lookahead (boundaries are checked in code). */
  pattern: RegExp;
  maxLength: number;
  priority: number;
  /** How far before the first anchor a match may begin (anchor in the middle of the pattern). */
  backoff?: number;
  keyGate?(key: string): boolean;
  accept(m: RegExpExecArray, text: string, ctx: ScanContext): Accepted | undefined;
}

/** A vendor-format detector: the regex runs only from the first anchor hit, validators decide. */
export function regexDetector(spec: RegexDetectorSpec): Detector {
  if (!spec.pattern.global) throw new Error(`${spec.family}: pattern must be global`);
  const detector: Detector = {
    family: spec.family,
    ids: spec.ids,
    anchors: spec.anchors,
    maxLength: spec.maxLength,
    priority: spec.priority,
    find(text: string, first: number, ctx: ScanContext, out: Match[]): void {
      const re = spec.pattern;
      re.lastIndex = Math.max(0, first - (spec.backoff ?? 0));
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const r = spec.accept(m, text, ctx);
        if (r !== undefined) {
          out.push({ type: r.type, start: r.start ?? m.index, end: r.end ?? m.index + m[0].length, normalized: r.normalized ?? m[0] });
        }
        if (m[0].length === 0) re.lastIndex++;
      }
    },
  };
  if (spec.keyGate) detector.keyGate = spec.keyGate;
  return detector;
}

export interface TokenCheck {
  minEntropy?: number;
  /** Offset into the match where the random part starts (the entropy is measured on that part). */
  bodyFrom?: number;
  inner?: (c: number) => boolean;
}

/** Word-bounded, not a published example or template filler, and random enough past its prefix. */
export function plausibleToken(m: RegExpExecArray, text: string, check: TokenCheck = {}): boolean {
  const value = m[0];
  if (!bounded(text, m.index, m.index + value.length, check.inner ?? isTokenChar)) return false;
  if (isPlaceholder(value)) return false;
  if (check.minEntropy !== undefined && shannonEntropy(value.slice(check.bodyFrom ?? 0)) < check.minEntropy) return false;
  return true;
}
