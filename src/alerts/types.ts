import type { RuleType, Severity } from './schema.js';

/** Counts, names, finding types and fingerprints: never a raw value (events do not carry any). */
export type AlertDetailValue = string | number | boolean | readonly string[] | Readonly<Record<string, number>>;
export type AlertDetails = Readonly<Record<string, AlertDetailValue>>;

export interface Alert {
  id: string;
  /** Name of the rule in the policy (`test` for a test alert). */
  rule: string;
  type: RuleType | 'test';
  severity: Severity;
  /** Deduplication key within the rule, e.g. `identity|destination`. */
  key: string;
  title: string;
  details: AlertDetails;
  /** ISO-8601 time of the event that raised it. */
  time: string;
}

/** What a rule emits; the engine adds id, rule name, type and the default severity. */
export interface AlertDraft {
  key: string;
  title: string;
  details: AlertDetails;
  /** Epoch ms. */
  time: number;
  severity?: Severity;
}

export type DeliveryState = 'delivered' | 'pending' | 'failed';

export interface DeliveryResult {
  sink: string;
  state: DeliveryState;
  attempts: number;
  /** HTTP status of the last attempt, when there was a response. */
  status?: number;
  /** Why the last attempt (or the rate limiter) failed. */
  error?: string;
  delivered_at?: string;
}

export interface AlertRecord extends Alert {
  /** `failed` when any sink failed for good, `pending` while any is still trying, else `delivered`. */
  state: DeliveryState;
  deliveries: DeliveryResult[];
  /** Repeats of this (rule, key) suppressed inside the dedup window. */
  suppressed: number;
}
