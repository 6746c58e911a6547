import { applyFindings, blocks, mutates } from '../actions.js';
import { applyDecoded, applyDecodedJson, decodedView, encodeFormComponent, JsonStringState, rawAt } from '../decode.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { Finding } from '../types.js';
import type { ScrubResult } from './result.js';

/** Plain text (and any textual body that is not JSON or a form): scan once, replace in place. */
export function scrubText(set: DetectorSet, text: string, opts: ScanOptions = {}): ScrubResult {
  const findings = set.scanText(text, opts);
  const changed = mutates(findings);
  return { output: changed ? applyFindings(text, findings) : text, findings, changed, blocked: blocks(findings) };
}

/**
 * A JSON or form body that cannot be read structurally, scanned as text the way the streaming
 * scanner reads it: decoded (JSON escapes, percent-encoding) first, replacements encoded back.
 */
export function scrubDecodedText(set: DetectorSet, raw: string, mode: 'json' | 'form', opts: ScanOptions = {}): ScrubResult {
  const view = decodedView(mode, raw);
  const local = set.scanText(view.text, opts);
  if (local.length === 0) return { output: raw, findings: local, changed: false, blocked: false };
  const output = mode === 'json' ? applyDecodedJson(raw, view, local, new JsonStringState()) : applyDecoded(raw, view, local, encodeFormComponent);
  const findings: Finding[] = [];
  for (const f of local) findings.push({ ...f, start: rawAt(view, f.start), end: rawAt(view, f.end) });
  const changed = mutates(findings);
  return { output, findings, changed, blocked: blocks(findings) };
}
