import type { EgressEvent } from '../../events/types.js';
import { isPiiType } from '../../scrub/kinds.js';
import type { AlertDraft } from '../types.js';
import { setBounded, type RuleEvaluator } from './rule.js';

export interface PiiToNewDestinationParams {
  learningPeriod: number;
  maxPairs?: number;
}

/** Personal data found on the way to a destination that never received personal data from this identity. */
export class PiiToNewDestinationRule implements RuleEvaluator {
  private readonly seen = new Map<string, true>();
  private learningEndsAt: number | undefined;
  private readonly maxPairs: number;

  constructor(private readonly params: PiiToNewDestinationParams) {
    this.maxPairs = params.maxPairs ?? 500_000;
  }

  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void {
    // The learning period starts with traffic, not with the first PII, so a quiet start is not "learning".
    this.learningEndsAt ??= time + this.params.learningPeriod;
    if (event.kind !== 'scrub') return;
    const pii = event.findings.filter((f) => isPiiType(f.type));
    if (pii.length === 0) return;
    const key = `${event.identity}|${event.destination}`;
    const known = this.seen.has(key);
    setBounded(this.seen, key, true, this.maxPairs);
    if (known || time < this.learningEndsAt) return;
    const counts: Record<string, number> = {};
    for (const f of pii) counts[f.type] = (counts[f.type] ?? 0) + 1;
    emit({
      key,
      time,
      title: `${event.identity} sent personal data (${Object.keys(counts).join(', ')}) to a new destination: ${event.destination}`,
      details: {
        identity: event.identity,
        destination: event.destination,
        method: event.method,
        path_template: event.path_template,
        finding_types: Object.keys(counts),
        finding_counts: counts,
        actions: [...new Set(pii.map((f) => f.action))],
        outcome: event.outcome,
        fingerprints: [...new Set(pii.map((f) => f.fingerprint))].slice(0, 20),
      },
    });
  }
}
