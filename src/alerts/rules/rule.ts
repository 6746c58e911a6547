import type { EgressEvent } from '../../events/types.js';
import type { AlertDraft } from '../types.js';

/** A rule folds events into its own state and emits drafts; it never delivers or deduplicates. */
export interface RuleEvaluator {
  /** `time` is the event's time in epoch ms (the engine's clock when the event's time is unreadable). */
  observe(event: EgressEvent, time: number, emit: (draft: AlertDraft) => void): void;
}

/** Sets a key in an insertion-ordered map, evicting the oldest entries beyond `cap` (bounded memory). */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > cap) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

/** Whether the event shows traffic that reached the destination (a hard deny did not). */
export function reached(event: EgressEvent): boolean {
  return event.kind !== 'decision' || event.verdict !== 'deny';
}
