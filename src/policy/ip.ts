import ipaddr from 'ipaddr.js';

export type ParsedIp = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses any IP spelling a URL host can carry: dotted quad, short forms (`127.1`), decimal
 * (`2852039166`), hex (`0xa9fea9fe`), octal, bracketed or bare IPv6. IPv4-mapped IPv6 is unwrapped
 * so `::ffff:169.254.169.254` is judged as the IPv4 address it reaches.
 */
export function parseIpLiteral(host: string): ParsedIp | undefined {
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  const zone = h.indexOf('%');
  if (zone !== -1) h = h.slice(0, zone);
  // Fast exit for host names (the common case): ipaddr's parsers are costly on the hot path.
  if (!h.includes(':') && !/^[0-9a-fx.]+$/i.test(h)) return undefined;
  if (!ipaddr.isValid(h)) return undefined;
  // ipaddr accepts any all-digit string as a 32-bit number; hostnames never are all digits, so this is right.
  const ip = ipaddr.parse(h);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) return (ip as ipaddr.IPv6).toIPv4Address();
  return ip;
}

/** Canonical text of an IP: dotted quad for IPv4, RFC 5952 for IPv6. */
export function canonicalIp(ip: ParsedIp): string {
  return ip.toString();
}

const BLOCKED_CIDRS: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'CGNAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['64:ff9b::/96', 'NAT64'],
  ['2002::/16', '6to4'],
];
const PARSED_BLOCKS = BLOCKED_CIDRS.map(([cidr, label]) => ({ range: ipaddr.parseCIDR(cidr), label }));
const METADATA_IPS = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200']);

/** Why an address is not a public destination (metadata, loopback, ...), or undefined when it is public. */
export function blockedRangeOf(ip: ParsedIp): string | undefined {
  if (METADATA_IPS.has(ip.toString())) return 'cloud metadata';
  for (const { range, label } of PARSED_BLOCKS) {
    if (range[0].kind() === ip.kind() && ip.match(range as [ParsedIp, number])) return label;
  }
  return undefined;
}

/** Host names that always mean "this machine" or "the metadata service". */
const BLOCKED_NAMES = new Set(['localhost', 'metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export function blockedName(host: string): string | undefined {
  if (BLOCKED_NAMES.has(host)) return host === 'localhost' ? 'loopback' : 'cloud metadata';
  if (host.endsWith('.localhost')) return 'loopback';
  return undefined;
}
