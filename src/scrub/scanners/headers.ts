import { blocks, mutates } from '../actions.js';
import { applyDecoded, decodePercent, rawAt, type DecodedView } from '../decode.js';
import type { DetectorId } from '../config.js';
import { basicCredentialsValid } from '../detectors/tokens/basic-auth.js';
import { opaqueCredential } from '../detectors/tokens/bearer.js';
import type { DetectorSet, ScanOptions } from '../engine.js';
import type { ScanBudget } from '../scan-budget.js';
import type { Finding, FindingLocation, Match } from '../types.js';
import { storedName } from './json-path.js';

export interface HeaderEntry {
  name: string;
  value: string;
}

export interface HeaderScrubResult {
  /** Every input header, values scrubbed where a finding's action mutates. */
  headers: HeaderEntry[];
  /** Only the headers whose value changed (what a header mutation must set). */
  changed: HeaderEntry[];
  /** Offsets are into the header's value; `location.name` is the lower-cased header name. */
  findings: Finding[];
  blocked: boolean;
}

/** Header names whose whole value is a credential even when it has no vendor format. */
const CREDENTIAL_HEADER = /(?:^|[-_])(?:api-?key|apikey|token|secret|auth|password|passwd|credentials?|access-?key|session|private-token)(?:$|[-_])/i;
const SESSION_COOKIE = /sess|token|auth|\bsid\b|jwt|login|remember/i;
/** Credentials there are base64 or opaque tokens, never URL-encoded text. */
const AUTHORIZATION = new Set(['authorization', 'proxy-authorization']);
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
/** Never touched: Envoy forbids mutating them, and routing depends on them. */
const SKIPPED = new Set(['host', ':authority', ':path', ':method', ':scheme', ':status', 'content-length', 'content-type']);

/**
 * Request headers. `Authorization`/`Proxy-Authorization`: Basic → `basic_auth` (credentials only),
 * any other scheme → the vendor type if recognised, else `bearer_token` above the entropy floor.
 * `Cookie`: each cookie value, with its name as context; session-like cookies as bearer credentials.
 * Credential-named custom headers (`X-Api-Key`, `Private-Token`, …) likewise; every other header as text.
 * Pseudo-headers and `host` are skipped; scan a `:path` query with `scrubQuery`. Every header and cookie shares one
 * phone budget (the caller's, else a new one): a budget per value would let many small values add up unbounded.
 */
export function scrubHeaders(set: DetectorSet, headers: readonly HeaderEntry[], opts: ScanOptions = {}): HeaderScrubResult {
  const budget = opts.context?.budget ?? set.newBudget();
  const out: HeaderEntry[] = [];
  const changed: HeaderEntry[] = [];
  const findings: Finding[] = [];
  for (const h of headers) {
    const name = h.name.toLowerCase();
    if (SKIPPED.has(name) || name.startsWith(':') || h.value.length === 0) {
      out.push(h);
      continue;
    }
    const location: FindingLocation = { kind: 'header', name: storedName(set, name) };
    // Cookies and custom headers often carry URL-encoded values (`alice%40example.com`): detect on the decoded text.
    const view: DecodedView = AUTHORIZATION.has(name) || !PERCENT_ESCAPE.test(h.value) ? { text: h.value } : decodePercent(h.value, 0, h.value.length, false);
    const matches = headerMatches(set, name, view.text, budget);
    const local = set.toFindings(view.text, matches, { ...opts, location });
    for (const f of local) findings.push(view.map === undefined ? f : { ...f, start: rawAt(view, f.start), end: rawAt(view, f.end) });
    if (mutates(local)) {
      const entry = { name: h.name, value: applyDecoded(h.value, view, local) };
      out.push(entry);
      changed.push(entry);
    } else out.push(h);
  }
  return { headers: out, changed, findings, blocked: blocks(findings) };
}

function headerMatches(set: DetectorSet, name: string, value: string, budget: ScanBudget): Match[] {
  if (name === 'authorization' || name === 'proxy-authorization') return authorizationMatches(set, name, value, budget);
  if (name === 'cookie') return cookieMatches(set, value, budget);
  if (CREDENTIAL_HEADER.test(name)) return credentialMatches(set, name, value, 0, value.length, budget);
  return set.match(value, { key: name, budget });
}

function enabled(set: DetectorSet, id: DetectorId): boolean {
  return set.enabled.has(id);
}

function authorizationMatches(set: DetectorSet, name: string, value: string, budget: ScanBudget): Match[] {
  const sp = value.indexOf(' ');
  const scheme = sp === -1 ? '' : value.slice(0, sp).toLowerCase();
  let start = sp === -1 ? 0 : sp + 1;
  while (value.charCodeAt(start) === 32) start++;
  const cred = value.slice(start).trimEnd();
  const end = start + cred.length;
  if (scheme === 'basic') {
    return enabled(set, 'basic_auth') && basicCredentialsValid(cred) ? [{ type: 'basic_auth', start, end, normalized: cred }] : [];
  }
  if (scheme.startsWith('aws4-') || scheme === 'digest' || scheme === 'negotiate') return set.match(value, { key: name, budget });
  return credentialMatches(set, name, value, sp === -1 ? 0 : start, end, budget);
}

/** A vendor token inside the credential wins; otherwise the whole credential is an opaque bearer token. */
function credentialMatches(set: DetectorSet, name: string, value: string, start: number, end: number, budget: ScanBudget): Match[] {
  const cred = value.slice(start, end);
  const inner = set.match(cred, { key: name, budget }).map((m) => ({ ...m, start: m.start + start, end: m.end + start }));
  if (inner.some((m) => m.type !== 'bearer_token')) return inner;
  if (enabled(set, 'bearer_token') && opaqueCredential(cred)) return [{ type: 'bearer_token', start, end, normalized: cred }];
  return inner;
}

function cookieMatches(set: DetectorSet, value: string, budget: ScanBudget): Match[] {
  const out: Match[] = [];
  let i = 0;
  while (i < value.length) {
    let semi = value.indexOf(';', i);
    if (semi === -1) semi = value.length;
    const eq = value.indexOf('=', i);
    if (eq !== -1 && eq < semi) {
      const cookie = value.slice(i, eq).trim();
      let vs = eq + 1;
      let ve = semi;
      while (vs < ve && value.charCodeAt(vs) === 32) vs++;
      while (ve > vs && value.charCodeAt(ve - 1) === 32) ve--;
      if (value.charCodeAt(vs) === 34 && value.charCodeAt(ve - 1) === 34 && ve - vs >= 2) {
        vs++;
        ve--;
      }
      if (ve > vs) {
        const found = SESSION_COOKIE.test(cookie) ? credentialMatches(set, cookie, value, vs, ve, budget) : set.match(value.slice(vs, ve), { key: cookie, budget }).map((m) => ({ ...m, start: m.start + vs, end: m.end + vs }));
        for (const m of found) out.push(m);
      }
    }
    i = semi + 1;
  }
  return out;
}
