import { canonicalIp, parseIpLiteral } from './ip.js';

export interface Authority {
  /** Lower-case host without trailing dot; IP literals in canonical form (IPv6 without brackets). */
  host: string;
  /** Explicit port from the authority, if any. */
  port: number | undefined;
  isIp: boolean;
}

/**
 * Splits `:authority` (or a CONNECT target) into host and port, the way a policy compares them:
 * case-insensitive, trailing dot ignored, IPv6 brackets removed, any IP spelling canonicalised.
 * Returns undefined for something that is not a host at all.
 */
export function parseAuthority(raw: string): Authority | undefined {
  let s = raw.trim();
  if (s === '' || s.length > 1024) return undefined;
  const at = s.lastIndexOf('@');
  if (at !== -1) s = s.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end === -1) return undefined;
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (rest.startsWith(':')) portText = rest.slice(1);
    else if (rest !== '') return undefined;
  } else {
    const colon = s.indexOf(':');
    if (colon !== -1 && s.indexOf(':', colon + 1) !== -1) {
      host = s; // bare IPv6 without brackets
    } else if (colon !== -1) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return undefined;
  const ip = parseIpLiteral(host);
  if (ip) return { host: canonicalIp(ip), port, isIp: true };
  if (!/^[a-z0-9_.-]+$/.test(host) || host.includes('..')) return undefined;
  return { host, port, isIp: false };
}

/** Normalises a rule host the same way a request host is normalised. */
export function normalizeRuleHost(raw: string): string {
  const parsed = parseAuthority(raw.startsWith('*.') ? raw.slice(2) : raw);
  const base = parsed?.host ?? raw.toLowerCase();
  return raw.startsWith('*.') ? `*.${base}` : base;
}

export function defaultPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}
