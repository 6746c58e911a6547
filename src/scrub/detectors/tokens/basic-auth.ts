import type { Match, ScanContext } from '../../types.js';
import { isPlaceholder } from '../../validators/placeholder.js';
import { isAlnum } from '../context.js';
import type { Detector } from '../detector.js';

const BASIC = /Basic\s{1,4}([A-Za-z0-9+/]{6,1024}={0,2})/gi;
const URL_USERINFO = /[A-Za-z][A-Za-z0-9+.-]{0,15}:\/\/([^\s:/?#@"'<>\\]{0,128}):([^\s/?#@"'<>\\]{1,256})@(?=[A-Za-z0-9[])/g;
const PLACEHOLDER_PASSWORDS = /^(?:password|passwd|pass|pwd|secret|pw|changeme|\*+|x+|%s|\$[A-Z_]+|\$\{[^}]*\}|\{\{[^}]*\}\}|<[^>]*>|:[a-z_]+)$/i;

/** Decodes to printable `user:password` with a non-empty password. */
export function basicCredentialsValid(b64: string): boolean {
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || colon === decoded.length - 1) return false;
  if (!/^[\x20-\x7e\u00a0-\uffff]+$/.test(decoded) || decoded.includes('\ufffd')) return false;
  return !PLACEHOLDER_PASSWORDS.test(decoded.slice(colon + 1));
}

export function urlPasswordPlausible(password: string): boolean {
  return !PLACEHOLDER_PASSWORDS.test(password) && !isPlaceholder(password);
}

/** `Authorization: Basic …` credentials in text, and `user:pass@` in URLs; the span is the credential only. */
export const basicAuthDetector: Detector = {
  family: 'basic_auth',
  ids: ['basic_auth'],
  anchors: ['Basic', 'BASIC', '://'],
  maxLength: 1100,
  // Above email: in `https://user:pass@host` the password@host part also looks like an address.
  priority: 55,
  find(text: string, first: number, _ctx: ScanContext, out: Match[]): void {
    BASIC.lastIndex = first;
    let m: RegExpExecArray | null;
    while ((m = BASIC.exec(text)) !== null) {
      const cred = m[1]!;
      const start = m.index + m[0].length - cred.length;
      const end = start + cred.length;
      if (m.index > 0 && isAlnum(text.charCodeAt(m.index - 1))) continue;
      if (end < text.length && (isAlnum(text.charCodeAt(end)) || text.charCodeAt(end) === 43 || text.charCodeAt(end) === 47)) continue;
      if (basicCredentialsValid(cred)) out.push({ type: 'basic_auth', start, end, normalized: cred });
    }
    URL_USERINFO.lastIndex = Math.max(0, first - 20);
    while ((m = URL_USERINFO.exec(text)) !== null) {
      if (!urlPasswordPlausible(m[2]!)) continue;
      const end = m.index + m[0].length - 1;
      const start = end - m[1]!.length - 1 - m[2]!.length;
      out.push({ type: 'basic_auth', start, end, normalized: text.slice(start, end) });
    }
  },
};
