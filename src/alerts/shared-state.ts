import type { AlertRecord } from './types.js';

/**
 * Alert state shared by the replicas of a fleet (Redis), so an alert fires once for the fleet and a
 * restart does not restart a learning period. Without it (the embedded default) the engine keeps
 * dedup, learning and history in its own memory.
 */
export interface SharedAlertState {
  /**
   * True for the first replica to raise (rule, key) within `windowMs`. With `seenSet`, also false when
   * `pair` was already known to the fleet (a "new" destination another replica has seen).
   */
  claim(c: { rule: string; key: string; windowMs: number; seenSet?: string; pair?: string }): Promise<boolean>;
  /** A learning rule saw `pair` (written in batches). */
  learn(seenSet: string, pair: string): void;
  /** The fleet's learning start for a rule: the first proposal stored wins. */
  learningStart(ruleId: string, proposed: number): Promise<number>;
  /** A settled alert (delivered, or failed: also a dead letter) joins the fleet's history. */
  record(record: AlertRecord, deadLetter: boolean): void;
  /** The fleet's settled alerts, newest first. */
  list(deadLetters: boolean, limit: number): Promise<AlertRecord[]>;
  /** One token from the sink's rate-limit bucket shared by the fleet (`perMinute` refilled continuously). */
  takeToken(sink: string, perMinute: number): Promise<boolean>;
}
