const SEEN_LIMIT = 4096;
/** Longer principals are matched every time, so the memo stays within SEEN_LIMIT x 512 characters. */
const SEEN_MAX_LENGTH = 512;

/** Exact names and "prefix/*" patterns (SPIFFE IDs, XFCC principals), compiled to a map plus a prefix list. */
export class PrincipalMatcher {
  private readonly exact = new Map<string, string>();
  private readonly prefixes: Array<{ prefix: string; name: string }> = [];
  /** Answers for principals seen before: a fleet has few, and every Check asks again (null: no match). */
  private readonly seen = new Map<string, string | null>();

  add(pattern: string, name: string): void {
    this.seen.clear();
    if (pattern.endsWith('/*')) this.prefixes.push({ prefix: pattern.slice(0, -1), name });
    else if (!this.exact.has(pattern)) this.exact.set(pattern, name);
  }

  /** Exact match first, then the longest matching prefix. */
  match(principal: string): string | undefined {
    const hit = this.exact.get(principal);
    if (hit !== undefined || this.prefixes.length === 0) return hit;
    const known = this.seen.get(principal);
    if (known !== undefined) return known ?? undefined;
    const name = this.longestPrefix(principal);
    if (principal.length > SEEN_MAX_LENGTH) return name;
    if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
    this.seen.set(principal, name ?? null);
    return name;
  }

  private longestPrefix(principal: string): string | undefined {
    let best: { prefix: string; name: string } | undefined;
    for (const p of this.prefixes) {
      if (principal.length > p.prefix.length && principal.startsWith(p.prefix) && (!best || p.prefix.length > best.prefix.length)) best = p;
    }
    return best?.name;
  }

  get size(): number {
    return this.exact.size + this.prefixes.length;
  }
}

export function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
