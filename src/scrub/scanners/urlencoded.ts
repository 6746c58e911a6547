import { blocks, mutates, replacementFor } from '../actions.js';
import { decodePercent, encodeFormComponent, rawAt } from '../decode.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { Finding, FindingLocation } from '../types.js';
import { storedName } from './json-path.js';
import type { ScrubResult } from './result.js';

/**
 * Percent-decodes `raw[start, end)` (and `+` as space) with, for each decoded UTF-16 unit,
 * the raw offset it came from, so findings point into the undecoded body.
 */
export function decodeComponent(raw: string, start: number, end: number): { text: string; at: (k: number) => number } {
  const view = decodePercent(raw, start, end);
  return { text: view.text, at: (k) => rawAt(view, k) };
}

/**
 * `a=1&b=2` (form bodies and query strings): each value is decoded and scanned with its field name
 * as context, then re-encoded; finding offsets point into the raw encoded text.
 */
export function scrubUrlEncoded(set: DetectorSet, raw: string, kind: 'form' | 'query', given: ScanOptions = {}): ScrubResult {
  // One phone budget for every field of the body or query.
  const opts = set.budgeted(given);
  const budget = opts.context.budget;
  const findings: Finding[] = [];
  let out = '';
  let pos = 0;
  let i = 0;
  while (i <= raw.length) {
    let amp = raw.indexOf('&', i);
    if (amp === -1) amp = raw.length;
    const eq = raw.indexOf('=', i);
    const hasValue = eq !== -1 && eq < amp;
    const nameEnd = hasValue ? eq : amp;
    const nameView = decodeComponent(raw, i, nameEnd);
    const name = nameView.text;
    const field = storedName(set, name);
    const location: FindingLocation = kind === 'form' ? { kind: 'form', field } : { kind: 'query', param: field };
    const valueStart = hasValue ? eq + 1 : amp;
    // The name too: `alice%40example.com=1`, or a field with no `=`, must not carry a value past the scan.
    const parts = [nameView, ...(amp > valueStart ? [decodeComponent(raw, valueStart, amp)] : [])];
    for (let p = 0; p < parts.length; p++) {
      const { text, at } = parts[p]!;
      if (text.length === 0) continue;
      const local = set.scanText(text, { ...opts, ...(p === 1 ? { context: { key: name, budget } } : {}), location });
      for (const f of local) {
        findings.push({ ...f, start: at(f.start), end: at(f.end) });
        const rep = replacementFor(f.type, f.action, text.slice(f.start, f.end), f.fingerprint);
        if (rep === undefined) continue;
        // Only the value's raw range is rewritten; the rest of the field stays encoded as sent.
        out += raw.slice(pos, at(f.start)) + encodeFormComponent(rep);
        pos = at(f.end);
      }
    }
    i = amp + 1;
  }
  const changed = mutates(findings);
  return { output: changed ? out + raw.slice(pos) : raw, findings, changed, blocked: blocks(findings) };
}

/** A request path's query string (`/v1/x?email=…`): only the part after `?` is scanned; offsets are into the path. */
export function scrubQuery(set: DetectorSet, path: string, opts: ScanOptions = {}): ScrubResult {
  const q = path.indexOf('?');
  if (q === -1) return { output: path, findings: [], changed: false, blocked: false };
  const hash = path.indexOf('#', q);
  const end = hash === -1 ? path.length : hash;
  const r = scrubUrlEncoded(set, path.slice(q + 1, end), 'query', opts);
  const shift = q + 1;
  return {
    ...r,
    output: r.changed ? path.slice(0, shift) + r.output + path.slice(end) : path,
    findings: r.findings.map((f) => ({ ...f, start: f.start + shift, end: f.end + shift })),
  };
}
