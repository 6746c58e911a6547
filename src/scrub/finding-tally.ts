import type { Finding } from './types.js';

/**
 * Findings of one request or run, bounded: the first `maxKept` are kept in full, every finding is
 * counted by type. One body can hold millions of values; a record must stay small and `push(...many)`
 * overflows the call stack past ~100k arguments, so `add` copies one by one.
 */
export class FindingTally {
  readonly kept: Finding[] = [];
  private readonly byType = new Map<string, number>();
  private droppedCount = 0;

  constructor(private readonly maxKept = 1000) {}

  add(findings: readonly Finding[]): void {
    for (let i = 0; i < findings.length; i++) {
      const f = findings[i]!;
      this.byType.set(f.type, (this.byType.get(f.type) ?? 0) + 1);
      if (this.kept.length < this.maxKept) this.kept.push(f);
      else this.droppedCount++;
    }
  }

  /** Every finding added, kept or not, by type. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, n] of this.byType) out[type] = n;
    return out;
  }

  /** Findings counted but not kept. */
  get dropped(): number {
    return this.droppedCount;
  }

  get total(): number {
    return this.kept.length + this.droppedCount;
  }
}
