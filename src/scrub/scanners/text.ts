import { applyFindings, blocks, mutates } from '../actions.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { ScrubResult } from './result.js';

/** Plain text (and any textual body that is not JSON or a form): scan once, replace in place. */
export function scrubText(set: DetectorSet, text: string, opts: ScanOptions = {}): ScrubResult {
  const findings = set.scanText(text, opts);
  const changed = mutates(findings);
  return { output: changed ? applyFindings(text, findings) : text, findings, changed, blocked: blocks(findings) };
}
