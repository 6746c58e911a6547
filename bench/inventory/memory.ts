/**
 * Inventory memory per 100,000 edges: heap growth after folding 100,000 distinct edges through the
 * Inventory and its embedded store, next to a floor (a plain Map of 100,000 small objects under the
 * same keys). Run: npx tsx bench/inventory/memory.ts
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EgressEvent } from '../../src/events/types.js';
import { edgeKey } from '../../src/inventory/edges.js';
import { Inventory } from '../../src/inventory/index.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { writeResult } from '../lib/results.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const EDGES = 100_000;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

function edgeOf(i: number) {
  return {
    identity: `service-${i % 50}`,
    destination: `api-${Math.floor(i / 50) % 2000}.vendor-${i % 7}.example.com:443`,
    method: METHODS[i % 4]!,
    path_template: `/v1/resource-${Math.floor(i / 200) % 500}/{id}`,
  };
}

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

let rnd = 42;
function latency(): number {
  rnd = (rnd * 1103515245 + 12345) % 2147483648;
  return 5 + (rnd / 2147483648) * 400;
}

/** Folds every edge `requests` times (decision + access log with a latency), 1,000 events at a time. */
async function measureInventory(requests: number): Promise<{ bytes: number; edges: number; sketchBins: number; eventsPerSec: number; queryMs: number; coldQueryMs: number }> {
  const before = heapUsed();
  const started = performance.now();
  const store = new EmbeddedInventoryStore();
  const inventory = new Inventory({ store });
  const time = new Date('2025-01-01T00:00:00Z').toISOString();
  let seq = 0;
  for (let r = 0; r < requests; r++) {
    for (let start = 0; start < EDGES; start += 500) {
      const batch: EgressEvent[] = [];
      for (let i = start; i < start + 500; i++) {
        const e = edgeOf(i);
        const request_id = `r${seq++}`;
        batch.push({ kind: 'decision', time, request_id, ...e, verdict: 'allow', mode: 'enforce', rule: 'x', reason: 'x', latency_us: 10, policy_version: 1 });
        batch.push({ kind: 'access', time, request_id, ...e, status: 200, bytes_sent: 120, bytes_received: 4096, upstream_latency_ms: latency() });
      }
      await inventory.ingest(batch);
    }
  }
  const eventsPerSec = (requests * EDGES * 2) / ((performance.now() - started) / 1000);
  const after = heapUsed();
  const q0 = performance.now();
  await inventory.destinations({ sort: 'count', host: '*.vendor-3.example.com', limit: 100 });
  const q1 = performance.now();
  await inventory.destinations({ sort: 'count', host: '*.vendor-3.example.com', limit: 100 });
  const coldQueryMs = q1 - q0;
  const queryMs = performance.now() - q1;
  let sketchBins = 0;
  const page = await store.scan('edges', { limit: 1000 });
  for (const rec of page.records) sketchBins += rec.sketches.upstream_latency_ms?.binCount ?? 0;
  const edges = await store.size('edges');
  const bytes = after - before;
  // Keep the store reachable until after the measurement.
  if (edges !== EDGES) throw new Error(`expected ${EDGES} edges, got ${edges}`);
  return { bytes, edges, sketchBins: sketchBins / page.records.length, eventsPerSec, queryMs, coldQueryMs };
}

function measureFloor(): number {
  const before = heapUsed();
  const map = new Map<string, { allow: number; status2xx: number; bytes: number; first: number; last: number }>();
  for (let i = 0; i < EDGES; i++) map.set(edgeKey(edgeOf(i)), { allow: 1, status2xx: 1, bytes: 4216, first: 1735689600000, last: 1735689600000 });
  const after = heapUsed();
  if (map.size !== EDGES) throw new Error('floor map lost entries');
  return after - before;
}

const floor = measureFloor();
const runs: Array<{ requests_per_edge: number; heap_bytes: number; bytes_per_edge: number; avg_sketch_bins: number; events_per_sec: number; destinations_query_ms: number; first_query_ms: number }> = [];
for (const requests of [1, 10, 50]) {
  const m = await measureInventory(requests);
  runs.push({ requests_per_edge: requests, heap_bytes: m.bytes, bytes_per_edge: Math.round(m.bytes / m.edges), avg_sketch_bins: Math.round(m.sketchBins * 10) / 10, events_per_sec: Math.round(m.eventsPerSec), destinations_query_ms: Math.round(m.queryMs), first_query_ms: Math.round(m.coldQueryMs) });
}

const result = {
  edges: EDGES,
  floor: { description: 'plain Map of 100,000 small objects (5 numbers) under the same edge keys', heap_bytes: floor, bytes_per_edge: Math.round(floor / EDGES) },
  inventory: runs.map((r) => ({ ...r, mib_per_100k_edges: Math.round((r.heap_bytes / 2 ** 20) * 10) / 10, ratio_to_floor: Math.round((r.heap_bytes / floor) * 100) / 100 })),
  note: 'events_per_sec: decision + access events folded per second (single thread, event construction included); destinations_query_ms: one filtered, count-sorted page over all edges (first_query_ms: the first one, which also sorts the key index). Heap growth (heapUsed after forced GC) with the edges held by the embedded store; each request is a decision plus an access log with an upstream latency in 5–405 ms.',
};
const path = writeResult('inventory-memory', result);
console.log(JSON.stringify(result, null, 2));
console.log(`wrote ${path}`);
