import ipaddr from 'ipaddr.js';
import type { Match, ScanContext } from '../types.js';
import type { Detector } from './detector.js';
import { isAlnum } from './context.js';

/** Not personal data and not routable to anyone: never reported. */
const IGNORED_RANGES = new Set(['unspecified', 'broadcast', 'loopback']);
const VERSION_CONTEXT = /(?:version|ver|release|build|\bv)[\s"':=]*$/i;

/** Four dot-separated decimal octets ≤ 255 without leading zeros, not a version string. */
export function classifyIpv4(text: string, start: number, groups: readonly string[], separators: string): boolean {
  if (groups.length !== 4 || separators !== '...') return false;
  for (const g of groups) {
    if (g.length > 3 || (g.length > 1 && g.charCodeAt(0) === 48) || Number(g) > 255) return false;
  }
  const before = text.slice(Math.max(0, start - 12), start);
  if (VERSION_CONTEXT.test(before)) return false;
  const addr = ipaddr.IPv4.parse(groups.join('.'));
  return !IGNORED_RANGES.has(addr.range());
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isV6Char(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46; // 0-9 : A-F a-f .
}

const MAX_V6 = 45;

/**
 * IPv6: from each `:` with hex on both sides (or `::`), expand over [0-9A-Fa-f:.] within 45 chars,
 * require `::` or seven colons (times and MAC addresses have neither), then let ipaddr.js decide.
 */
export const ipv6Detector: Detector = {
  family: 'ipv6',
  ids: ['ipv6'],
  anchors: [':'],
  maxLength: MAX_V6,
  priority: 40,
  find(text: string, first: number, _ctx: ScanContext, out: Match[]): void {
    let i = first;
    while (i !== -1) {
      const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
      const next = text.charCodeAt(i + 1);
      if (!((isHex(prev) || next === 58) && (isHex(next) || next === 58))) {
        i = text.indexOf(':', i + 1);
        continue;
      }
      let s = i;
      while (s > 0 && i - s < MAX_V6 && isV6Char(text.charCodeAt(s - 1))) s--;
      let e = i + 1;
      while (e < text.length && e - i < MAX_V6 && isV6Char(text.charCodeAt(e))) e++;
      while (e > i + 1 && text.charCodeAt(e - 1) === 46) e--;
      const candidate = text.slice(s, e);
      const boundedOk = !(s > 0 && (isAlnum(text.charCodeAt(s - 1)) || text.charCodeAt(s - 1) === 95)) && !(e < text.length && (isAlnum(text.charCodeAt(e)) || text.charCodeAt(e) === 95));
      const colons = countColons(candidate);
      const shapeOk = candidate.length >= 3 && candidate.length <= MAX_V6 && colons <= 8 && !candidate.includes(':::') && (colons === 7 || candidate.indexOf('::') === candidate.lastIndexOf('::')) && (candidate.includes('::') || colons === 7);
      if (boundedOk && shapeOk && ipaddr.IPv6.isValid(candidate)) {
        const addr = ipaddr.IPv6.parse(candidate);
        if (!IGNORED_RANGES.has(addr.range())) {
          out.push({ type: 'ipv6', start: s, end: e, normalized: addr.toNormalizedString() });
        }
      }
      i = text.indexOf(':', e > i ? e : i + 1);
    }
  },
};

function countColons(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 58) n++;
  return n;
}
