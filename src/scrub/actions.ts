import type { DetectorId, ScrubAction } from './config.js';
import type { Finding } from './types.js';

/** Characters kept at the end of a masked value (letters and digits only; separators stay in place). */
export const MASK_TAIL: Readonly<Partial<Record<DetectorId, number>>> = {
  credit_card: 4,
  iban: 4,
  us_ssn: 4,
  phone: 2,
};
/** Tokens keep their last 4 characters, as vendor dashboards show them, but never more than a quarter. */
const DEFAULT_TOKEN_TAIL = 4;

function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * `mask`: every letter/digit becomes `*` except a documented tail; separators are kept so the shape
 * survives (`****-****-****-1111`). Emails keep their domain only (`***@example.com`).
 */
export function maskValue(type: DetectorId, value: string): string {
  if (type === 'email') {
    const at = value.lastIndexOf('@');
    return `***${value.slice(at)}`;
  }
  let alnum = 0;
  for (let i = 0; i < value.length; i++) if (isAlnumCode(value.charCodeAt(i))) alnum++;
  const tail = Math.min(MASK_TAIL[type] ?? DEFAULT_TOKEN_TAIL, Math.floor(alnum / 4));
  let keepFrom = alnum - tail;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isAlnumCode(c)) out += keepFrom-- > 0 ? '*' : value[i];
    else out += value[i];
  }
  return out;
}

/** The text that replaces a finding's value, or undefined when the value stays (`allow`). */
export function replacementFor(type: DetectorId, action: ScrubAction, value: string, fingerprint: string): string | undefined {
  switch (action) {
    case 'allow':
      return undefined;
    case 'mask':
      return maskValue(type, value);
    case 'hash':
      return `[HASH:${type}:${fingerprint}]`;
    case 'redact':
    case 'block':
      return `[REDACTED:${type}]`;
  }
}

/**
 * Rewrites `text` with each finding's replacement. Findings must not overlap and must be sorted by start.
 * `escape` adapts the replacement to where it lands (JSON string, URL component).
 */
export function applyFindings(text: string, findings: readonly Finding[], escape?: (replacement: string, f: Finding) => string): string {
  let out = '';
  let pos = 0;
  for (const f of findings) {
    const rep = replacementFor(f.type, f.action, text.slice(f.start, f.end), f.fingerprint);
    if (rep === undefined) continue;
    out += text.slice(pos, f.start) + (escape ? escape(rep, f) : rep);
    pos = f.end;
  }
  return pos === 0 ? text : out + text.slice(pos);
}

export function mutates(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.action !== 'allow');
}

export function blocks(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.action === 'block');
}
