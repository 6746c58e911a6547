import type { EventFinding, ScrubEvent } from '../events/types.js';
import type { InventoryRecord } from '../store/inventory-store.js';
import type { DeltaBatch } from './delta-batch.js';
import { splitDestination } from './destination.js';
import { isForeignDestination } from '../scrub/token-issuers.js';

export const TOKEN_FLAGS = ['sprawl', 'foreign_destination', 'outside_header'] as const;
export type TokenFlag = (typeof TOKEN_FLAGS)[number];
export const WHERE_KINDS = ['header', 'body', 'query'] as const;
export type WhereKind = (typeof WHERE_KINDS)[number];

/** `header:authorization` → header; `json:$.key`, `form:f`, `body:10-40` → body; `query:key` → query. */
export function whereKind(where: string): WhereKind {
  if (where.startsWith('header:')) return 'header';
  if (where.startsWith('query:')) return 'query';
  return 'body';
}

/** Folds one token finding into the record keyed by its fingerprint (never the value). */
export function foldToken(batch: DeltaBatch, e: ScrubEvent, f: EventFinding, at: number, issuers: Readonly<Record<string, readonly string[]>>): void {
  const key = f.fingerprint;
  batch.count(key, at, 'count');
  batch.count(key, at, `where:${whereKind(f.where)}`);
  batch.addToSet(key, at, 'type', f.type);
  batch.addToSet(key, at, 'identities', e.identity);
  batch.addToSet(key, at, 'destinations', e.destination);
  // Counted when folded, so the flag holds even after the destination list reaches its cap.
  if (isForeignDestination(issuers, f.type, splitDestination(e.destination).host)) {
    batch.count(key, at, 'foreign_destination');
    batch.addToSet(key, at, 'foreign_destinations', e.destination);
  }
}

export interface TokenView {
  fingerprint: string;
  type: string;
  identities: string[];
  destinations: string[];
  /** Destinations outside the issuer's hosts (see token-issuers.ts). */
  foreign_destinations: string[];
  count: number;
  where: Record<WhereKind, number>;
  first_seen: string;
  last_seen: string;
  flags: TokenFlag[];
}

export function tokenFlags(r: InventoryRecord): TokenFlag[] {
  const flags: TokenFlag[] = [];
  if ((r.sets.identities?.length ?? 0) > 1) flags.push('sprawl');
  if ((r.counters.foreign_destination ?? 0) > 0) flags.push('foreign_destination');
  if ((r.counters['where:body'] ?? 0) + (r.counters['where:query'] ?? 0) > 0) flags.push('outside_header');
  return flags;
}

export function tokenView(r: InventoryRecord): TokenView {
  return {
    fingerprint: r.key,
    type: [...(r.sets.type ?? [])].sort().join(',') || 'unknown',
    identities: [...(r.sets.identities ?? [])].sort(),
    destinations: [...(r.sets.destinations ?? [])].sort(),
    foreign_destinations: [...(r.sets.foreign_destinations ?? [])].sort(),
    count: r.counters.count ?? 0,
    where: { header: r.counters['where:header'] ?? 0, body: r.counters['where:body'] ?? 0, query: r.counters['where:query'] ?? 0 },
    first_seen: new Date(r.firstSeen).toISOString(),
    last_seen: new Date(r.lastSeen).toISOString(),
    flags: tokenFlags(r),
  };
}
