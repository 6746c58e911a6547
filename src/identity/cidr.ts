import ipaddr from 'ipaddr.js';
import { parseIpLiteral, type ParsedIp } from '../policy/ip.js';

type Range = { range: [ParsedIp, number]; name: string };

/** Source-address → identity by longest matching prefix (IPv4 and IPv6; IPv4-mapped IPv6 sources count as IPv4). */
export class CidrMatcher {
  private readonly ranges: Range[] = [];

  /** Returns an error message for an unparsable CIDR. */
  add(cidr: string, name: string): string | undefined {
    try {
      const [ip, bits] = ipaddr.parseCIDR(cidr);
      const unwrapped = ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? [(ip as ipaddr.IPv6).toIPv4Address(), bits - 96] : [ip, bits];
      this.ranges.push({ range: unwrapped as [ParsedIp, number], name });
      this.ranges.sort((a, b) => b.range[1] - a.range[1]);
      return undefined;
    } catch {
      return `"${cidr}" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)`;
    }
  }

  match(address: string): string | undefined {
    const ip = parseIpLiteral(address);
    if (!ip) return undefined;
    for (const { range, name } of this.ranges) {
      if (range[0].kind() === ip.kind() && ip.match(range)) return name;
    }
    return undefined;
  }

  get size(): number {
    return this.ranges.length;
  }
}
