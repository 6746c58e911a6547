import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ValidatedPolicyForm } from '../policy-store.js';

/**
 * File format of a policy's validated form (`policy.validated` next to `policy.json`): one header line of JSON, then the
 * document head, then one line per chunk (JSON.stringify output has no raw newline). The header names the text it was
 * validated from and the sha256 of everything after it, so a torn or edited file is told from a good one.
 *
 * Bump the number when the schema's output for the same text can change (new defaults): a form of another format is
 * stale, not corrupt, and the text is parsed again. The package version is part of it as well, so a form written by
 * another release of Tollgate is never served by this one even where a bump was forgotten.
 */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const FORMAT = `tollgate-validated-policy/1 tollgate/${VERSION}`;

interface Header {
  format: string;
  sha256: string;
  rules: number;
  chunks: number;
  body_sha256: string;
}

export function encodeForm(form: ValidatedPolicyForm): string {
  const body = [form.head, ...form.chunks].join('\n');
  const header: Header = { format: FORMAT, sha256: form.sha256, rules: form.rules, chunks: form.chunks.length, body_sha256: sha256(body) };
  return `${JSON.stringify(header)}\n${body}\n`;
}

export type DecodedForm = { ok: true; form: ValidatedPolicyForm } | { ok: false; stale: true; why: string } | { ok: false; stale: false; why: string };

/** Checks a stored form against the sha256 of the text it should stand for; `stale` means it belongs to other text. */
export function decodeForm(raw: string, textSha256: string): DecodedForm {
  const nl = raw.indexOf('\n');
  if (nl === -1 || !raw.endsWith('\n')) return { ok: false, stale: false, why: 'no header line or cut short' };
  let h: Partial<Header>;
  try {
    h = JSON.parse(raw.slice(0, nl)) as Partial<Header>;
  } catch (err) {
    return { ok: false, stale: false, why: `header is not JSON: ${(err as Error).message}` };
  }
  if (!h || typeof h !== 'object' || typeof h.format !== 'string' || typeof h.sha256 !== 'string' || typeof h.body_sha256 !== 'string' || !Number.isSafeInteger(h.rules) || !Number.isSafeInteger(h.chunks)) {
    return { ok: false, stale: false, why: 'header fields missing or of the wrong type' };
  }
  if (h.format !== FORMAT) return { ok: false, stale: true, why: `format ${h.format}, this Tollgate reads ${FORMAT}` };
  if (h.sha256 !== textSha256) return { ok: false, stale: true, why: 'validated from other text' };
  const body = raw.slice(nl + 1, -1);
  if (sha256(body) !== h.body_sha256) return { ok: false, stale: false, why: 'content does not match its sha256' };
  const lines = body.split('\n');
  if (lines.length !== h.chunks! + 1) return { ok: false, stale: false, why: `${lines.length - 1} chunks, header says ${h.chunks}` };
  return { ok: true, form: { sha256: h.sha256, rules: h.rules!, head: lines[0]!, chunks: lines.slice(1) } };
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
