import { lookup } from 'node:dns/promises';
import { blockedRangeOf, parseIpLiteral } from '../policy/ip.js';

export type LookupFn = (host: string) => Promise<string[]>;
export type DnsVerdict = { ok: true } | { ok: false; address?: string; label: string };

export interface DnsGuardOptions {
  lookup?: LookupFn;
  timeoutMs?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
}

const systemLookup: LookupFn = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Resolves hosts matched by wildcard rules and reports when any answer is private, loopback,
 * link-local or metadata. Cached with a TTL and bounded by a timeout; a failed or slow lookup is a
 * denial (fail closed). Envoy resolves again on its own, so a DNS answer that changes between the two
 * lookups (rebinding) is a remaining gap; see README.
 */
export class DnsGuard {
  private readonly cache = new Map<string, { verdict: DnsVerdict; expires: number }>();
  private readonly lookupFn: LookupFn;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;

  constructor(opts: DnsGuardOptions = {}) {
    this.lookupFn = opts.lookup ?? systemLookup;
    this.timeoutMs = opts.timeoutMs ?? 100;
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 5_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  async check(host: string): Promise<DnsVerdict> {
    const now = Date.now();
    const hit = this.cache.get(host);
    if (hit && hit.expires > now) return hit.verdict;
    const verdict = await this.resolve(host);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(host, { verdict, expires: now + (verdict.ok ? this.ttlMs : this.negativeTtlMs) });
    return verdict;
  }

  private async resolve(host: string): Promise<DnsVerdict> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const addresses = await Promise.race([
        this.lookupFn(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), this.timeoutMs);
        }),
      ]);
      for (const address of addresses) {
        const ip = parseIpLiteral(address);
        const label = ip ? blockedRangeOf(ip) : 'unparsable';
        if (label) return { ok: false, address, label };
      }
      return addresses.length > 0 ? { ok: true } : { ok: false, label: 'no DNS answer' };
    } catch (err) {
      return { ok: false, label: (err as Error).message === 'timeout' ? `DNS lookup slower than ${this.timeoutMs} ms` : 'DNS lookup failed' };
    } finally {
      clearTimeout(timer);
    }
  }
}
