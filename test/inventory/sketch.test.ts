import { describe, expect, it } from 'vitest';
import { DDSketch } from '../../src/inventory/sketch.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function lognormal(seed: number): () => number {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  return () => Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()));
}

describe('DDSketch', () => {
  it('reports p50 and p99 within 1% of the exact values', () => {
    const next = lognormal(7);
    const values = Array.from({ length: 50_000 }, next);
    const sketch = new DDSketch(0.01);
    for (const v of values) sketch.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(sketch.quantile(q)! - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    expect(sketch.count).toBe(50_000);
  });

  it('merges two sketches into the sketch of all their values', () => {
    const next = lognormal(11);
    const a = new DDSketch();
    const b = new DDSketch();
    const all = new DDSketch();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = i % 3 === 0 ? next() * 10 : next();
      values.push(v);
      (i % 2 === 0 ? a : b).add(v);
      all.add(v);
    }
    a.merge(b.toJSON());
    expect(a.toJSON()).toEqual(all.toJSON());
    const sorted = values.sort((x, y) => x - y);
    const p99 = exactQuantile(sorted, 0.99);
    expect(Math.abs(a.quantile(0.99)! - p99) / p99).toBeLessThanOrEqual(0.01);
  });

  it('survives serialization and counts zero latencies', () => {
    const s = new DDSketch();
    for (const v of [0, 0, 0, 5, 10]) s.add(v);
    const back = DDSketch.from(JSON.parse(JSON.stringify(s.toJSON())));
    expect(back.quantile(0.5)).toBe(0);
    expect(back.quantile(1)).toBe(10);
    expect(back.toJSON()).toEqual(s.toJSON());
  });

  it('refuses to merge sketches of different accuracy', () => {
    expect(() => new DDSketch(0.01).merge(new DDSketch(0.02))).toThrow(/accuracy/);
  });

  it('keeps p99 accurate when the lowest bins collapse under the bin limit', () => {
    const s = new DDSketch(0.01, 64);
    const values = Array.from({ length: 10_000 }, (_, i) => 0.001 * 1.01 ** (i / 10));
    for (const v of values) s.add(v);
    expect(s.binCount).toBeLessThanOrEqual(64);
    const p99 = exactQuantile(values, 0.99);
    expect(Math.abs(s.quantile(0.99)! - p99) / p99).toBeLessThanOrEqual(0.01);
  });
});
