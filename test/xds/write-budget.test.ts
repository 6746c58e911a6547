import { describe, expect, it } from 'vitest';
import { WriteBudget } from '../../src/xds/server/write-budget.js';

/** A stream stand-in that records when the budget wakes it (the budget only ever calls flush). */
function streams(n: number): { woken: number[]; list: Array<{ flush(): void }> } {
  const woken: number[] = [];
  return { woken, list: Array.from({ length: n }, (_, i) => ({ flush: () => void woken.push(i) })) };
}

describe('WriteBudget (response bytes in flight across ADS streams)', () => {
  it('lets the first large response go, holds the next while it is in flight, and wakes it once released', () => {
    const { woken, list } = streams(2);
    const budget = new WriteBudget(100, 10, (w) => w.flush());
    expect(budget.admit(list[0]!, 80)).toBe(true);
    budget.take(80);
    expect(budget.admit(list[1]!, 80)).toBe(false);
    expect(budget.waiters).toBe(1);
    budget.release(80);
    expect(woken).toEqual([1]);
    expect(budget.admit(list[1]!, 80)).toBe(true);
    expect(budget.waiters).toBe(0);
  });

  it('never holds back a small response (a usual update), however much is in flight', () => {
    const { list } = streams(2);
    const budget = new WriteBudget(100, 10, (w) => w.flush());
    budget.take(500);
    expect(budget.admit(list[0]!, 10)).toBe(true);
    expect(budget.admit(list[1]!, 11)).toBe(false);
  });

  it('a response larger than the whole budget still goes when nothing else is in flight', () => {
    const { list } = streams(1);
    const budget = new WriteBudget(100, 10, (w) => w.flush());
    expect(budget.admit(list[0]!, 10_000)).toBe(true);
  });

  it('wakes waiting streams in arrival order, only as many as fit, and never a stream that closed', () => {
    const { woken, list } = streams(4);
    const budget = new WriteBudget(100, 10, (w) => w.flush());
    budget.take(100);
    for (const s of list) expect(budget.admit(s, 40)).toBe(false);
    budget.forget(list[1]!);
    budget.release(100);
    expect(woken).toEqual([0, 2]);
    expect(budget.waiters).toBe(1);
  });

  it('a woken stream with nothing to send passes its room on, so the streams queued behind it are not left waiting', () => {
    const { woken, list } = streams(3);
    const budget = new WriteBudget(100, 10, (w) => w.flush());
    budget.take(100);
    for (const s of list) expect(budget.admit(s, 60)).toBe(false);
    budget.release(100);
    expect(woken).toEqual([0]); // 60 planned for stream 0; stream 1 would not fit beside it
    // Stream 0 was woken but its response went out meanwhile (or its Envoy ACKed nothing new): it writes nothing.
    budget.pass();
    expect(woken).toEqual([0, 1]);
    expect(budget.admit(list[1]!, 60)).toBe(true);
    budget.take(60);
    budget.pass(); // stream 1 wrote: nothing is released and stream 2 keeps waiting for real room
    expect(woken).toEqual([0, 1]);
  });
});
