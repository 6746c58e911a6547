import type { AccessEvent, DecisionEvent } from '../events/types.js';
import type { InventoryRecord } from '../store/inventory-store.js';
import { storedMethod, storedTemplate } from '../scrub/path.js';
import type { DeltaBatch } from './delta-batch.js';
import { splitDestination } from './destination.js';

/** Who talked to what: one edge per (identity, destination, method, path template). */
export interface EdgeKey {
  identity: string;
  destination: string;
  method: string;
  path_template: string;
}

export const VERDICTS = ['allow', 'deny', 'report_deny'] as const;
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'no_response'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];
export const LATENCY_SKETCH = 'upstream_latency_ms';

/** A JSON array, so keys sort by identity first and any character in a path stays unambiguous. */
export function edgeKey(e: EdgeKey): string {
  return JSON.stringify([e.identity, e.destination, storedMethod(e.method), storedTemplate(e.path_template)]);
}


export function parseEdgeKey(key: string): EdgeKey {
  const [identity, destination, method, path_template] = JSON.parse(key) as string[];
  return { identity: identity!, destination: destination!, method: method!, path_template: path_template! };
}

/**
 * Element `i` of a JSON-array key without parsing the whole key: inside a JSON string every `"` is
 * escaped, so `","` only ever separates elements. Queries call this for every record.
 */
export function keyPart(key: string, i: number): string {
  let start = 2;
  for (let n = 0; n < i; n++) start = key.indexOf('","', start) + 3;
  let end = key.indexOf('","', start);
  if (end === -1) end = key.length - 2;
  const raw = key.slice(start, end);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/** Every edge key of `identity` starts with this. */
export function identityKeyPrefix(identity: string): string {
  return `${JSON.stringify([identity]).slice(0, -1)},`;
}

export function statusClass(status: number): StatusClass {
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx` as StatusClass;
  return 'no_response';
}

/** A decision counts the request once on its edge. */
export function foldDecision(batch: DeltaBatch, key: string, e: DecisionEvent, at: number): void {
  batch.count(key, at, e.verdict);
}

/** An access log adds the response to the edge its decision was counted on. */
export function foldAccess(batch: DeltaBatch, key: string, e: AccessEvent, at: number): void {
  batch.count(key, at, statusClass(e.status));
  if (e.bytes_sent > 0) batch.count(key, at, 'bytes_sent', e.bytes_sent);
  if (e.bytes_received > 0) batch.count(key, at, 'bytes_received', e.bytes_received);
  if (e.upstream_latency_ms !== undefined && e.upstream_latency_ms >= 0) batch.observe(key, at, LATENCY_SKETCH, e.upstream_latency_ms);
}

export interface EdgeView extends EdgeKey {
  host: string;
  port: number | null;
  /** Requests decided (allow + deny + report_deny). */
  requests: number;
  decisions: Record<(typeof VERDICTS)[number], number>;
  status: Record<StatusClass, number>;
  bytes_sent: number;
  bytes_received: number;
  first_seen: string;
  last_seen: string;
  /** From a DDSketch with 1% relative accuracy; null before any access log carried a latency. */
  upstream_latency_ms: { p50: number; p99: number; samples: number } | null;
}

export function edgeRequests(r: InventoryRecord): number {
  return (r.counters.allow ?? 0) + (r.counters.deny ?? 0) + (r.counters.report_deny ?? 0);
}

export function edgeBytes(r: InventoryRecord): number {
  return (r.counters.bytes_sent ?? 0) + (r.counters.bytes_received ?? 0);
}

export function edgeView(r: InventoryRecord): EdgeView {
  const key = parseEdgeKey(r.key);
  const { host, port } = splitDestination(key.destination);
  const c = r.counters;
  const sketch = r.sketches[LATENCY_SKETCH];
  return {
    ...key,
    host,
    port: port ?? null,
    requests: edgeRequests(r),
    decisions: { allow: c.allow ?? 0, deny: c.deny ?? 0, report_deny: c.report_deny ?? 0 },
    status: Object.fromEntries(STATUS_CLASSES.map((s) => [s, c[s] ?? 0])) as Record<StatusClass, number>,
    bytes_sent: c.bytes_sent ?? 0,
    bytes_received: c.bytes_received ?? 0,
    first_seen: new Date(r.firstSeen).toISOString(),
    last_seen: new Date(r.lastSeen).toISOString(),
    upstream_latency_ms:
      sketch && sketch.count > 0 ? { p50: round3(sketch.quantile(0.5)!), p99: round3(sketch.quantile(0.99)!), samples: sketch.count } : null,
  };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
