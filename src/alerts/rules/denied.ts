import type { EgressEvent } from '../../events/types.js';
import type { AlertDraft } from '../types.js';
import { setBounded, type RuleEvaluator } from './rule.js';

export interface DeniedParams {
  threshold: number;
  window: number;
  includeReport: boolean;
  maxIdentities?: number;
}

interface Recent {
  /** Times of the last threshold+1 denials, oldest first: all the rule needs to know. */
  times: number[];
  destinations: Map<string, number>;
}

/** An identity is denied more than `threshold` times within `window` (a misconfigured or compromised workload). */
export class DeniedRule implements RuleEvaluator {
  private readonly byIdentity = new Map<string, Recent>();
  private readonly maxIdentities: number;

  constructor(private readonly params: DeniedParams) {
    this.maxIdentities = params.maxIdentities ?? 100_000;
  }

  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void {
    if (event.kind !== 'decision') return;
    if (event.verdict !== 'deny' && !(this.params.includeReport && event.verdict === 'report_deny')) return;
    let recent = this.byIdentity.get(event.identity);
    if (!recent || (recent.times.length > 0 && time - recent.times[recent.times.length - 1]! > this.params.window)) {
      recent = { times: [], destinations: new Map() };
    }
    setBounded(this.byIdentity, event.identity, recent, this.maxIdentities);
    recent.times.push(time);
    setBounded(recent.destinations, event.destination, (recent.destinations.get(event.destination) ?? 0) + 1, 50);
    while (recent.times.length > this.params.threshold + 1) recent.times.shift();
    const first = recent.times[0]!;
    if (recent.times.length <= this.params.threshold || time - first > this.params.window) return;
    const top = [...recent.destinations.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
    emit({
      key: event.identity,
      time,
      title: `${event.identity} was denied more than ${this.params.threshold} times in ${formatMs(this.params.window)}`,
      details: {
        identity: event.identity,
        threshold: this.params.threshold,
        window_ms: this.params.window,
        last_rule: event.rule,
        last_reason: event.reason,
        destinations: Object.fromEntries(top),
      },
    });
  }
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
