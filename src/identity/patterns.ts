/** Exact names and "prefix/*" patterns (SPIFFE IDs, XFCC principals), compiled to a map plus a prefix list. */
export class PrincipalMatcher {
  private readonly exact = new Map<string, string>();
  private readonly prefixes: Array<{ prefix: string; name: string }> = [];

  add(pattern: string, name: string): void {
    if (pattern.endsWith('/*')) this.prefixes.push({ prefix: pattern.slice(0, -1), name });
    else if (!this.exact.has(pattern)) this.exact.set(pattern, name);
  }

  /** Exact match first, then the longest matching prefix. */
  match(principal: string): string | undefined {
    const hit = this.exact.get(principal);
    if (hit !== undefined) return hit;
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
