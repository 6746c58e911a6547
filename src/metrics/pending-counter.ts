import type { Counter } from 'prom-client';

type Slot = { labels: Record<string, string>; n: number };

/**
 * Counts for a two-label prom-client Counter kept as plain numbers on the hot path and added to the counter when it
 * is read (its `collect` hook, once per scrape): `inc` is two Map lookups and an add, where `Counter.inc` builds a
 * label hash string and validates the labels on every call.
 */
export class PendingCounter<A extends string, B extends string> {
  private readonly slots = new Map<string, Map<string, Slot>>();

  constructor(
    private readonly counter: Counter<A | B>,
    private readonly first: A,
    private readonly second: B,
  ) {}

  inc(a: string, b: string): void {
    let inner = this.slots.get(a);
    if (!inner) this.slots.set(a, (inner = new Map()));
    const slot = inner.get(b);
    if (slot) slot.n++;
    else inner.set(b, { labels: { [this.first]: a, [this.second]: b }, n: 1 });
  }

  /** Adds what was counted since the last call to the counter (call from its `collect`). */
  flush(): void {
    for (const inner of this.slots.values()) {
      for (const slot of inner.values()) {
        if (slot.n === 0) continue;
        this.counter.inc(slot.labels as Partial<Record<A | B, string>>, slot.n);
        slot.n = 0;
      }
    }
  }
}
