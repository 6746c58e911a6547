import type { EventFinding, ScrubEvent } from '../events/types.js';
import type { InventoryRecord } from '../store/inventory-store.js';
import type { DetectorId } from '../scrub/config.js';
import type { DeltaBatch } from './delta-batch.js';

export const PII_TYPES = ['email', 'phone', 'credit_card', 'us_ssn', 'iban', 'ipv4', 'ipv6', 'date_of_birth'] as const satisfies readonly DetectorId[];

/** Where PII goes: one record per (identity, destination, PII type). */
export function piiKey(identity: string, destination: string, type: string): string {
  return JSON.stringify([identity, destination, type]);
}

export function foldPii(batch: DeltaBatch, e: ScrubEvent, f: EventFinding, at: number): void {
  const key = piiKey(e.identity, e.destination, f.type);
  batch.count(key, at, 'count');
  batch.count(key, at, `action:${f.action}`);
}

export interface PiiView {
  identity: string;
  destination: string;
  type: string;
  count: number;
  /** Findings per action taken (redact, mask, hash, block, observe ...). */
  actions: Record<string, number>;
  first_seen: string;
  last_seen: string;
}

export function piiView(r: InventoryRecord): PiiView {
  const [identity, destination, type] = JSON.parse(r.key) as [string, string, string];
  const actions: Record<string, number> = {};
  for (const name of Object.keys(r.counters).sort()) if (name.startsWith('action:')) actions[name.slice(7)] = r.counters[name]!;
  return { identity, destination, type, count: r.counters.count ?? 0, actions, first_seen: new Date(r.firstSeen).toISOString(), last_seen: new Date(r.lastSeen).toISOString() };
}
