import type { Span } from './corpus.js';

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Prediction {
  type: string;
  start: number;
  end: number;
}

/** A prediction is a true positive when it overlaps a labelled span of the same type (one-to-one). */
export function score(labels: readonly Span[], predictions: readonly Prediction[], counts: Map<string, Counts>, typeEq: (label: string, pred: string) => boolean = (a, b) => a === b): { fp: number } {
  const used = new Set<number>();
  const get = (t: string): Counts => {
    let c = counts.get(t);
    if (!c) counts.set(t, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  let fps = 0;
  for (const p of predictions) {
    const i = labels.findIndex((l, k) => !used.has(k) && typeEq(l.type, p.type) && l.start < p.end && p.start < l.end);
    if (i >= 0) {
      used.add(i);
      get(labels[i]!.type).tp++;
    } else {
      get(p.type).fp++;
      fps++;
    }
  }
  labels.forEach((l, k) => {
    if (!used.has(k)) get(l.type).fn++;
  });
  return { fp: fps };
}

export function prf(c: Counts): { precision: number; recall: number } {
  return { precision: c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp), recall: c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn) };
}

export function fmt(x: number): string {
  return x.toFixed(3);
}
