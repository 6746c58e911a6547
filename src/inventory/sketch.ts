/** A sketch as stored: bin index → count. The bins are plain counters, so a Redis store can keep them in a hash and HINCRBY them. */
export interface SketchData {
  /** Relative accuracy the bins were built with; only sketches with the same value merge. */
  alpha: number;
  count: number;
  /** Values at or below MIN_INDEXABLE (0 ms latencies). */
  zero: number;
  min: number;
  max: number;
  /** Sorted bin indexes and their counts, same length. */
  bins: number[];
  counts: number[];
}

const MIN_INDEXABLE = 1e-9;

/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): log-spaced bins with ratio gamma = (1+α)/(1−α), so every
 * quantile is within α relative error of a true sample, and two sketches merge by adding bin counts.
 * Bins are kept sparse in one exact-size array of (index, count) pairs: most edges see few distinct
 * latencies, and a dense array (or V8's growth slack of 16 slots per array) would cost more than the
 * rest of the edge. A new bin copies the array, which is rare once an edge is warm. When more than
 * `maxBins` exist the lowest bins collapse into one, which keeps the upper quantiles (p99) within α.
 */
interface Mapping {
  alpha: number;
  logGamma: number;
  /** The value a bin stands for is 2γ^i/(γ+1): equal relative distance to both ends of (γ^(i-1), γ^i]. */
  scale: number;
  maxBins: number;
}

const mappings = new Map<string, Mapping>();
const EMPTY_BINS: number[] = [];

/** One shared mapping per (alpha, maxBins), so a sketch carries no per-instance constants. */
function mappingFor(alpha: number, maxBins: number): Mapping {
  const id = `${alpha}/${maxBins}`;
  let m = mappings.get(id);
  if (!m) {
    const gamma = (1 + alpha) / (1 - alpha);
    m = { alpha, logGamma: Math.log(gamma), scale: 2 / (gamma + 1), maxBins };
    mappings.set(id, m);
  }
  return m;
}

export class DDSketch {
  private readonly m: Mapping;
  count = 0;
  zero = 0;
  min = Infinity;
  max = -Infinity;
  /** (bin index, count) pairs sorted by index; length is exactly twice the number of bins. */
  private bins: number[] = EMPTY_BINS;

  constructor(alpha = 0.01, maxBins = 2048) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError('alpha must be in (0, 1)');
    this.m = mappingFor(alpha, maxBins);
  }

  get alpha(): number {
    return this.m.alpha;
  }

  static from(data: SketchData, maxBins = 2048): DDSketch {
    const s = new DDSketch(data.alpha, maxBins);
    s.merge(data);
    return s;
  }

  add(value: number, n = 1): void {
    if (!Number.isFinite(value) || n <= 0) return;
    this.count += n;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value <= MIN_INDEXABLE) {
      this.zero += n;
      return;
    }
    this.addToBin(Math.ceil(Math.log(value) / this.m.logGamma), n);
  }

  /** Value at quantile q (0..1), within α relative error; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * (this.count - 1);
    let seen = this.zero;
    if (seen > rank) return this.clamp(0);
    const b = this.bins;
    for (let i = 0; i < b.length; i += 2) {
      seen += b[i + 1]!;
      if (seen > rank) return this.clamp(this.m.scale * Math.exp(this.m.logGamma * b[i]!));
    }
    return this.max;
  }

  merge(other: DDSketch | SketchData): void {
    if (other.alpha !== this.alpha) throw new RangeError(`cannot merge sketches with accuracy ${other.alpha} and ${this.alpha}`);
    if (other.count === 0) return;
    this.count += other.count;
    this.zero += other.zero;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    let theirs: number[];
    if (other instanceof DDSketch) theirs = other.bins;
    else {
      theirs = new Array<number>(other.bins.length * 2);
      for (let i = 0; i < other.bins.length; i++) {
        theirs[2 * i] = other.bins[i]!;
        theirs[2 * i + 1] = other.counts[i]!;
      }
    }
    const mine = this.bins;
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < mine.length || j < theirs.length) {
      const a = i < mine.length ? mine[i]! : Infinity;
      const b = j < theirs.length ? theirs[j]! : Infinity;
      if (a === b) {
        out.push(a, mine[i + 1]! + theirs[j + 1]!);
        i += 2;
        j += 2;
      } else if (a < b) {
        out.push(a, mine[i + 1]!);
        i += 2;
      } else {
        out.push(b, theirs[j + 1]!);
        j += 2;
      }
    }
    this.bins = out.slice();
    this.collapse();
  }

  get binCount(): number {
    return this.bins.length / 2;
  }

  toJSON(): SketchData {
    const bins: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < this.bins.length; i += 2) {
      bins.push(this.bins[i]!);
      counts.push(this.bins[i + 1]!);
    }
    return { alpha: this.alpha, count: this.count, zero: this.zero, min: this.count > 0 ? this.min : 0, max: this.count > 0 ? this.max : 0, bins, counts };
  }

  private addToBin(index: number, n: number): void {
    const b = this.bins;
    let lo = 0;
    let hi = b.length / 2 - 1;
    // A warm edge mostly hits a bin that exists; the binary search finds it without allocating.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = b[2 * mid]!;
      if (v === index) {
        b[2 * mid + 1]! += n;
        return;
      }
      if (v < index) lo = mid + 1;
      else hi = mid - 1;
    }
    const next = new Array<number>(b.length + 2);
    for (let k = 0; k < 2 * lo; k++) next[k] = b[k]!;
    next[2 * lo] = index;
    next[2 * lo + 1] = n;
    for (let k = 2 * lo; k < b.length; k++) next[k + 2] = b[k]!;
    this.bins = next;
    this.collapse();
  }

  private collapse(): void {
    const extra = this.bins.length / 2 - this.m.maxBins;
    if (extra <= 0) return;
    let folded = 0;
    for (let i = 0; i <= extra; i++) folded += this.bins[2 * i + 1]!;
    const keep = this.bins.slice(2 * extra);
    keep[1] = folded;
    this.bins = keep;
  }

  private clamp(v: number): number {
    return v < this.min ? this.min : v > this.max ? this.max : v;
  }
}

