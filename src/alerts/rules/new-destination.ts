import type { EgressEvent } from '../../events/types.js';
import type { AlertDraft } from '../types.js';
import { reached, setBounded, type RuleEvaluator } from './rule.js';

export interface NewDestinationParams {
  learningPeriod: number;
  /** Remembered pairs; beyond it the least recently seen are forgotten (default 500,000). */
  maxPairs?: number;
}

/** An identity reaches a destination it never reached, once the learning period (from the first event) is over. */
export class NewDestinationRule implements RuleEvaluator {
  private readonly seen = new Map<string, true>();
  private learningEndsAt: number | undefined;
  private readonly maxPairs: number;
  /** Told of every pair seen for the first time here (a fleet shares what its replicas learned). */
  onLearn: ((pair: string) => void) | undefined;

  constructor(private readonly params: NewDestinationParams) {
    this.maxPairs = params.maxPairs ?? 500_000;
  }

  /** The learning period started at `ms` (the fleet's shared start), not at this replica's first event. */
  startLearningAt(ms: number): void {
    this.learningEndsAt = ms + this.params.learningPeriod;
  }

  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void {
    if (!reached(event)) return;
    this.learningEndsAt ??= time + this.params.learningPeriod;
    const key = `${event.identity}|${event.destination}`;
    const known = this.seen.has(key);
    setBounded(this.seen, key, true, this.maxPairs);
    if (!known && time < this.learningEndsAt) this.onLearn?.(key);
    if (known || time < this.learningEndsAt) return;
    emit({
      key,
      time,
      title: `${event.identity} reached a new destination: ${event.destination}`,
      details: { identity: event.identity, destination: event.destination, method: event.method, path_template: event.path_template },
    });
  }
}
