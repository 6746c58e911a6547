import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { isAlnum } from './context.js';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
/** File names like `icon@2x.png` share the shape of an address; these endings are never TLDs we report. */
const FILE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'css', 'js', 'mjs', 'cjs', 'ts', 'json', 'map', 'html', 'htm', 'txt', 'pdf', 'tgz', 'zip', 'lock']);

function isLocalChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 46 || c === 45;
}

function validDomain(domain: string): boolean {
  if (domain.length > MAX_DOMAIN || domain.length < 4) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.charCodeAt(0) === 45 || label.charCodeAt(label.length - 1) === 45) return false;
  }
  const tld = labels[labels.length - 1]!;
  if (tld.startsWith('xn--')) return true;
  if (!/^[A-Za-z]{2,24}$/.test(tld)) return false;
  return !FILE_EXTENSIONS.has(tld.toLowerCase());
}

/** `scheme://user:password@host`: the `password@host` part is credentials (basic_auth), not an address. */
function inUrlUserinfo(text: string, localStart: number): boolean {
  if (text.charCodeAt(localStart - 1) !== 58) return false;
  const before = text.slice(Math.max(0, localStart - 160), localStart - 1);
  const scheme = before.lastIndexOf('://');
  return scheme !== -1 && !/[\s/@]/.test(before.slice(scheme + 3));
}

/** Expands left and right from each `@` over bounded character classes: linear even on `a@a.a@…`. */
export const emailDetector: Detector = {
  family: 'email',
  ids: ['email'],
  anchors: ['@'],
  maxLength: MAX_LOCAL + 1 + MAX_DOMAIN,
  priority: 50,
  find(text: string, first: number, _ctx: ScanContext, out: Match[]): void {
    let at = first;
    let floor = 0;
    while (at !== -1) {
      let s = at;
      while (s > floor && at - s < MAX_LOCAL && isLocalChar(text.charCodeAt(s - 1))) s--;
      let e = at + 1;
      while (e < text.length && e - at <= MAX_DOMAIN && isDomainChar(text.charCodeAt(e))) e++;
      while (s < at && text.charCodeAt(s) === 46) s++;
      while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
      const localOk = s < at && text.charCodeAt(at - 1) !== 46 && !(s > 0 && isLocalChar(text.charCodeAt(s - 1))) && !inUrlUserinfo(text, s);
      const value = localOk ? text.slice(s, e) : '';
      if (localOk && !value.includes('..') && validDomain(text.slice(at + 1, e))) {
        out.push({ type: 'email', start: s, end: e, normalized: value.toLowerCase() });
        floor = e;
        at = text.indexOf('@', e);
      } else {
        at = text.indexOf('@', at + 1);
      }
    }
  },
};
