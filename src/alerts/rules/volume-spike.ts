import type { EgressEvent } from '../../events/types.js';
import type { AlertDraft } from '../types.js';
import { setBounded, type RuleEvaluator } from './rule.js';

export interface VolumeSpikeParams {
  metric: 'bytes' | 'requests';
  factor: number;
  minBaseline: number;
  minSamples: number;
  halfLife: number;
  window: number;
  maxPairs?: number;
}

interface Series {
  /** Start (epoch ms, aligned to the window) of the window being summed. */
  windowStart: number;
  current: number;
  baseline: number;
  samples: number;
  alerted: boolean;
}

/**
 * Volume per (identity, destination) far above its moving baseline. The metric is summed in fixed
 * windows; when a window closes it updates an exponentially weighted moving average,
 * baseline += alpha × (value − baseline) with alpha = 1 − 2^(−window/halfLife), and windows with no
 * traffic count as zeros. Once `minSamples` windows have closed, the open window alerts (once) as soon
 * as its running sum exceeds factor × max(baseline, minBaseline).
 */
export class VolumeSpikeRule implements RuleEvaluator {
  private readonly series = new Map<string, Series>();
  private readonly alpha: number;
  private readonly maxPairs: number;

  constructor(private readonly params: VolumeSpikeParams) {
    this.alpha = 1 - 2 ** (-params.window / params.halfLife);
    this.maxPairs = params.maxPairs ?? 200_000;
  }

  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void {
    const amount = this.amountOf(event);
    if (amount === undefined) return;
    const key = `${event.identity}|${event.destination}`;
    const windowStart = time - (time % this.params.window);
    let s = this.series.get(key);
    if (!s) s = { windowStart, current: 0, baseline: 0, samples: 0, alerted: false };
    else if (windowStart > s.windowStart) this.close(s, windowStart);
    setBounded(this.series, key, s, this.maxPairs);
    // Late events for an already closed window are added to the open one: close enough, and never lost.
    s.current += amount;
    if (s.alerted || s.samples < this.params.minSamples) return;
    const limit = this.params.factor * Math.max(s.baseline, this.params.minBaseline);
    if (s.current <= limit) return;
    s.alerted = true;
    const unit = this.params.metric === 'bytes' ? 'bytes' : 'requests';
    emit({
      key,
      time,
      title: `${event.identity} → ${event.destination}: ${s.current} ${unit} in ${this.params.window / 1000}s, ${ratio(s.current, s.baseline)} its baseline`,
      details: {
        identity: event.identity,
        destination: event.destination,
        metric: this.params.metric,
        current: s.current,
        baseline: Math.round(s.baseline * 100) / 100,
        threshold: Math.round(limit * 100) / 100,
        factor: this.params.factor,
        window_ms: this.params.window,
        samples: s.samples,
      },
    });
  }

  private amountOf(event: EgressEvent): number | undefined {
    if (this.params.metric === 'requests') return event.kind === 'decision' ? 1 : undefined;
    return event.kind === 'access' ? event.bytes_sent + event.bytes_received : undefined;
  }

  private close(s: Series, nextStart: number): void {
    const closed = Math.round((nextStart - s.windowStart) / this.params.window);
    // The first closed window seeds the baseline, so a pair's first traffic is not averaged with zeros.
    s.baseline = s.samples === 0 ? s.current : s.baseline + this.alpha * (s.current - s.baseline);
    const empty = closed - 1;
    if (empty > 0) s.baseline *= (1 - this.alpha) ** empty;
    s.samples += closed;
    s.windowStart = nextStart;
    s.current = 0;
    s.alerted = false;
  }
}

function ratio(current: number, baseline: number): string {
  return baseline > 0 ? `${(current / baseline).toFixed(1)}×` : 'far above';
}
