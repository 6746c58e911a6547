import type { RecordDelta } from '../store/inventory-store.js';
import { DDSketch } from './sketch.js';

interface MutableDelta {
  key: string;
  at: number;
  first: number;
  counters: Record<string, number>;
  sets: Record<string, string[]>;
  sketches: Record<string, DDSketch>;
}

/**
 * Deltas of one event batch, merged per key: a busy edge becomes one store write per batch (one
 * pipeline round on Redis) instead of one per event.
 */
export class DeltaBatch {
  private readonly byKey = new Map<string, MutableDelta>();

  constructor(private readonly sketchAlpha = 0.01) {}

  private entry(key: string, at: number): MutableDelta {
    let d = this.byKey.get(key);
    if (!d) {
      d = { key, at, first: at, counters: {}, sets: {}, sketches: {} };
      this.byKey.set(key, d);
    } else {
      if (at > d.at) d.at = at;
      if (at < d.first) d.first = at;
    }
    return d;
  }

  /** Marks the key seen at `at` without changing a counter. */
  touch(key: string, at: number): void {
    this.entry(key, at);
  }

  count(key: string, at: number, counter: string, n = 1): void {
    const d = this.entry(key, at);
    d.counters[counter] = (d.counters[counter] ?? 0) + n;
  }

  addToSet(key: string, at: number, set: string, member: string): void {
    const list = (this.entry(key, at).sets[set] ??= []);
    if (!list.includes(member)) list.push(member);
  }

  observe(key: string, at: number, sketch: string, value: number): void {
    const d = this.entry(key, at);
    (d.sketches[sketch] ??= new DDSketch(this.sketchAlpha)).add(value);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The deltas; a key seen at two times yields two deltas so the store sees both first and last seen. */
  deltas(): RecordDelta[] {
    const out: RecordDelta[] = [];
    for (const d of this.byKey.values()) {
      if (d.first < d.at) out.push({ key: d.key, at: d.first });
      out.push({ key: d.key, at: d.at, counters: d.counters, sets: d.sets, sketches: d.sketches });
    }
    return out;
  }
}
