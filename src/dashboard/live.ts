import type { EventBus } from '../events/bus.js';
import type { EgressEvent } from '../events/types.js';

export interface LiveTotals {
  decisions: number;
  allow: number;
  deny: number;
  report_deny: number;
  findings: number;
  blocked: number;
  access: number;
}

export interface LiveSummary {
  time: string;
  /** Grows by one whenever anything was counted; clients refresh only when it moved. */
  seq: number;
  /** Counted since this process started. */
  totals: LiveTotals;
  /** Counts over the last 60 s (the previous minute pro rata). */
  last_minute: LiveTotals;
}

const BUCKET_MS = 60_000;
/** Minutes of per-destination history kept for sparklines. */
export const ACTIVITY_MINUTES = 30;
/** Destinations tracked for sparklines; the least recently seen is dropped beyond it. */
const MAX_DESTINATIONS = 20_000;

const zero = (): LiveTotals => ({ decisions: 0, allow: 0, deny: 0, report_deny: 0, findings: 0, blocked: 0, access: 0 });

/**
 * Live view of the event bus for the dashboard: running totals, the last minute, and per-destination
 * requests per minute (sparklines). Fed by bus batches off the hot path; memory is bounded.
 */
export class LiveActivity {
  private seq = 0;
  private readonly totals = zero();
  private minuteStart = 0;
  private minute = zero();
  private previousMinute = zero();
  /** destination → ring of ACTIVITY_MINUTES counts, indexed by minute number modulo the ring. */
  private readonly series = new Map<string, { ring: Uint32Array; lastMinute: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  attach(bus: EventBus): () => void {
    return bus.subscribe((batch) => this.ingest(batch));
  }

  ingest(events: readonly EgressEvent[]): void {
    const t = this.now();
    this.roll(t);
    const minuteNo = Math.floor(t / BUCKET_MS);
    for (const e of events) {
      this.seq++;
      if (e.kind === 'decision') {
        for (const c of [this.totals, this.minute]) {
          c.decisions++;
          c[e.verdict]++;
        }
        this.count(e.destination, minuteNo);
      } else if (e.kind === 'scrub') {
        const blocked = e.outcome === 'blocked' ? 1 : 0;
        for (const c of [this.totals, this.minute]) {
          c.findings += e.findings.length;
          c.blocked += blocked;
        }
      } else {
        this.totals.access++;
        this.minute.access++;
      }
    }
  }

  summary(): LiveSummary {
    const t = this.now();
    this.roll(t);
    // Sliding 60 s: this minute so far plus the part of the previous minute still inside the window.
    const rest = 1 - (t - this.minuteStart) / BUCKET_MS;
    const last = zero();
    for (const k of Object.keys(last) as Array<keyof LiveTotals>) last[k] = this.minute[k] + Math.round(this.previousMinute[k] * rest);
    return { time: new Date(t).toISOString(), seq: this.seq, totals: { ...this.totals }, last_minute: last };
  }

  /** Requests per minute for each destination, oldest first, ending with the current minute. */
  activity(destinations: readonly string[]): Record<string, number[]> {
    const nowMinute = Math.floor(this.now() / BUCKET_MS);
    const out: Record<string, number[]> = {};
    for (const d of destinations) {
      const s = this.series.get(d);
      const values = new Array<number>(ACTIVITY_MINUTES).fill(0);
      if (s) {
        for (let k = 0; k < ACTIVITY_MINUTES; k++) {
          const m = nowMinute - (ACTIVITY_MINUTES - 1 - k);
          if (m > s.lastMinute || m <= s.lastMinute - ACTIVITY_MINUTES) continue;
          values[k] = s.ring[m % ACTIVITY_MINUTES]!;
        }
      }
      out[d] = values;
    }
    return out;
  }

  private roll(t: number): void {
    const start = t - (t % BUCKET_MS);
    if (start === this.minuteStart) return;
    this.previousMinute = start - this.minuteStart === BUCKET_MS ? this.minute : zero();
    this.minute = zero();
    this.minuteStart = start;
  }

  private count(destination: string, minuteNo: number): void {
    let s = this.series.get(destination);
    if (s) this.series.delete(destination);
    else {
      if (this.series.size >= MAX_DESTINATIONS) this.series.delete(this.series.keys().next().value!);
      s = { ring: new Uint32Array(ACTIVITY_MINUTES), lastMinute: minuteNo };
    }
    // Clear the minutes skipped since this destination was last seen (they were zero).
    for (let m = s.lastMinute + 1; m <= minuteNo && m <= s.lastMinute + ACTIVITY_MINUTES; m++) s.ring[m % ACTIVITY_MINUTES] = 0;
    s.lastMinute = Math.max(s.lastMinute, minuteNo);
    s.ring[minuteNo % ACTIVITY_MINUTES]!++;
    // Re-inserted last: Map order is recency order, so the first key is the least recently seen.
    this.series.set(destination, s);
  }
}
