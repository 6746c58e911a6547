/**
 * Part 1 of the xDS benchmark, run in its own process (`node --expose-gc --import tsx`) so its heap figures
 * are not mixed with anything else: policy version → encoded, consistency-checked snapshot, as
 * `PolicyPublisher.publish` does it on every policy change (resource plans, hand-written encoders for the bulk
 * shapes, sha256 versions, Snapshot.from + consistency check, setSnapshot).
 *
 *   node --expose-gc --import tsx bench/xds/build.ts --sizes 100,1000,10000 --runs 5 [--get-only]
 *
 * Per size: `runs` times a fresh publisher publishes the N-destination version (cold: every resource is
 * encoded), then the N+1 version and the N version again (warm: one destination added, then removed; the
 * publisher's memo re-encodes only what changed: new clusters, and the route configuration from its cached virtual
 * hosts). The floor is `JSON.stringify` of the same resource JSON
 * (what `buildResources` returns), timed in the same process. A last pass times each stage on its own to show
 * where the time goes. Prints one line `RESULT <json>` on stdout; progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { buildPolicy, type PolicyVersion } from '../../src/engine/policy-version.js';
import { checkMessage, encodeMessage } from '../../src/proto/strict/index.js';
import { SnapshotCache } from '../../src/xds/cache/cache.js';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { PolicyPublisher, type PublishResult } from '../../src/xds/publisher.js';
import { buildResources, planResources, type ResourceJson } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import type { EncodedPart } from '../../src/xds/resources/routes.js';
import { makeResource, TYPE_URL, type Resource } from '../../src/xds/types.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { expectedClusters, policyText, type PolicyShape } from './policy.js';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    runs: { type: 'string', default: '5' },
    'get-only': { type: 'boolean', default: false },
  },
});
const sizes = flags.sizes.split(',').map(Number);
const runs = Number(flags.runs);
const shape: PolicyShape = { getOnly: flags['get-only'] };
const options = xdsOptionsSchema.parse({});

const exposedGc = (globalThis as { gc?: () => void }).gc;
if (!exposedGc) throw new Error('run with node --expose-gc');
const gc: () => void = exposedGc;
/** JS heap plus Buffer memory (encoded bodies live outside the V8 heap). */
const memMiB = () => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, buffers: m.arrayBuffers / 2 ** 20 };
};
/** Keeps a measured object reachable until its memory has been read. */
const keep: unknown[] = [];
const log = (msg: string) => process.stderr.write(`  [build] ${msg}\n`);

function compile(n: number, version: number): { version: PolicyVersion; ms: number } {
  const t = performance.now();
  const built = buildPolicy(policyText(n, shape));
  const ms = performance.now() - t;
  if (!built.ok) throw new Error(`generated policy is invalid: ${JSON.stringify(built.problems.slice(0, 3))}`);
  return { version: { ...built.build, version, etag: `"${version}"`, loadedAt: new Date().toISOString() }, ms };
}

function check(r: PublishResult, what: string): PublishResult {
  if (!r.ok) throw new Error(`${what}: publish refused: ${(r.reasons ?? []).join('; ')}`);
  return r;
}

const stat = (xs: number[]): Summary => summarize(xs);
const ms = (s: Summary) => ({ p50: round(s.p50), p99: round(s.p99), min: round(s.min), max: round(s.max), runs: s.count });

function timeIt<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const out = fn();
  return [out, performance.now() - t];
}

// The first publish in a process also loads the Envoy protos and builds the checker's per-type plans.
const [firstPublish, firstMs] = timeIt(() => new PolicyPublisher(new SnapshotCache(), options).publish(compile(10, 1).version));
check(firstPublish, 'first publish');
log(`first publish in the process (loads protos and checker plans): ${firstMs.toFixed(0)} ms`);

const results: Record<string, unknown>[] = [];
for (const n of sizes) {
  const a = compile(n, 1);
  const b = compile(n + 1, 2);
  const resources = buildResources(a.version.policy, options);
  const clusters = resources.filter((r) => r.typeUrl === TYPE_URL.cluster).length;
  if (clusters !== expectedClusters(n, shape)) throw new Error(`expected ${expectedClusters(n, shape)} clusters for ${n} destinations, got ${clusters}`);

  const cold: number[] = [];
  const warm: number[] = [];
  const floor: number[] = [];
  let encodedWarm: number[] = [];
  let last: PublishResult | undefined;
  // One discarded run first: JIT and inline caches warm up at this size.
  for (let run = -1; run < runs; run++) {
    gc();
    const publisher = new PolicyPublisher(new SnapshotCache(), options);
    const c = check(publisher.publish(a.version), `cold ${n}`);
    const w1 = check(publisher.publish(b.version), `warm +1 ${n}`);
    const w2 = check(publisher.publish({ ...a.version, version: 3 }), `warm -1 ${n}`);
    gc();
    const [json, jsonMs] = timeIt(() => JSON.stringify(resources.map((r) => r.json)));
    if (json.length === 0) throw new Error('empty JSON');
    if (run < 0) continue;
    cold.push(c.buildMs);
    warm.push(w1.buildMs, w2.buildMs);
    floor.push(jsonMs);
    encodedWarm = [w1.encoded, w2.encoded];
    last = c;
  }
  const memory = publishMemory(a.version);
  const coldS = stat(cold);
  const warmS = stat(warm);
  const floorS = stat(floor);

  // Where the time goes: each stage of publish on its own (same inputs, after the runs above warmed everything).
  const stages = stageTimes(a.version, b.version);
  const bytes = encodedSizes(resources);
  const entry = {
    destinations: n,
    clusters,
    resources: last?.resources ?? 0,
    compileMs: round(a.ms),
    coldMs: ms(coldS),
    warmMs: ms(warmS),
    warmReEncoded: encodedWarm,
    floorJsonStringifyMs: ms(floorS),
    jsonBytes: JSON.stringify(resources.map((r) => r.json)).length,
    ratioColdToFloor: round(coldS.p50 / floorS.p50, 1),
    ratioWarmToFloor: round(warmS.p50 / floorS.p50, 1),
    memory,
    encodedBytes: bytes,
    stagesMs: stages,
  };
  log(
    `${n} destinations (${clusters} clusters): cold p50 ${coldS.p50.toFixed(1)} ms, warm p50 ${warmS.p50.toFixed(1)} ms, ` +
      `JSON.stringify floor ${floorS.p50.toFixed(1)} ms, retained ${memory.retainedMiB} MiB`,
  );
  results.push(entry);
}

process.stdout.write(`RESULT ${JSON.stringify({ firstPublishMs: round(firstMs), runs, shape, results })}\n`);

/**
 * Memory of one cold publish: what the publisher and cache keep (memo of encoded resources, the snapshot)
 * after a full GC, and what the publish allocated in all (heap growth before any GC can run; V8 may still
 * collect during the publish, so this is a lower bound of the garbage).
 */
function publishMemory(v: PolicyVersion): { retainedMiB: number; retainedHeapMiB: number; retainedBuffersMiB: number; allocatedMiB: number } {
  gc();
  gc();
  const before = memMiB();
  const publisher = new PolicyPublisher(new SnapshotCache(), options);
  check(publisher.publish(v), 'memory');
  const peak = memMiB();
  gc();
  gc();
  const after = memMiB();
  keep.push(publisher);
  const heap = after.heap - before.heap;
  const buffers = after.buffers - before.buffers;
  const out = {
    retainedMiB: round(heap + buffers, 1),
    retainedHeapMiB: round(heap, 1),
    retainedBuffersMiB: round(buffers, 1),
    allocatedMiB: round(peak.heap + peak.buffers - before.heap - before.buffers, 1),
  };
  keep.length = 0;
  return out;
}
/** Each stage of a cold and a warm publish, timed separately (p50 of 3), plus the JSON path the publisher no longer takes. */
function stageTimes(a: PolicyVersion, b: PolicyVersion): Record<string, number> {
  const samples: Record<string, number[]> = {};
  const add = (k: string, v: number) => (samples[k] ??= []).push(v);
  for (let i = 0; i < 3; i++) {
    gc();
    const [plans, planMs] = timeIt(() => planResources(a.policy, options));
    add('planResources (policy → resource plans, no JSON)', planMs);
    const parts = new Map<string, EncodedPart>();
    const cache = { get: (k: string) => parts.get(k), set: (k: string, v: EncodedPart) => void parts.set(k, v) };
    const [bodies, encMs] = timeIt(() => plans.map((p) => p.encode(cache)));
    add('encode (hand-written encoders; strict encoder for the few option-dependent resources)', encMs);
    const [made, hashMs] = timeIt(() => plans.map((p, j) => makeResource(p.typeUrl, p.name, bodies[j]!, p.refs)));
    add('makeResource (sha256 version per resource)', hashMs);
    const [, snapMs] = timeIt(() => {
      const s = Snapshot.from('1', made);
      if (s.consistent().length > 0) throw new Error('inconsistent');
    });
    add('Snapshot.from + consistent()', snapMs);
    // Warm: plans and memo lookups for the next version, and the route configuration from cached virtual hosts.
    const memo = new Map<string, Resource>();
    made.forEach((r, j) => plans[j]!.memoKey !== undefined && memo.set(`${r.typeUrl}\n${plans[j]!.memoKey}`, r));
    const [plansB, lookupMs] = timeIt(() => {
      const next = planResources(b.policy, options);
      let misses = 0;
      for (const p of next) if (p.memoKey !== undefined && !memo.has(`${p.typeUrl}\n${p.memoKey}`)) misses++;
      if (misses === 0) throw new Error('no change detected');
      return next;
    });
    add('warm: plans + memo lookups (new version)', lookupMs);
    const route = plansB.find((p) => p.typeUrl === TYPE_URL.route)!;
    const [, routeMs] = timeIt(() => route.encode(cache));
    add('warm: route configuration from cached virtual hosts (one re-encoded)', routeMs);
    // For comparison: the path the publisher took before (JSON, strict check, generic encoder).
    const [built, buildMs] = timeIt(() => buildResources(a.policy, options));
    add('not on the publish path: buildResources (policy → resource JSON)', buildMs);
    const [, checkMs] = timeIt(() => {
      for (const r of built) if (checkMessage(r.typeName, r.json).length > 0) throw new Error(`${r.name} fails the strict check`);
    });
    add('not on the publish path: strict check (checkMessage, all resources; the tests run it)', checkMs);
    const [, strictMs] = timeIt(() => built.map((r) => encodeMessage(r.typeName, r.json)));
    add('not on the publish path: encodeMessage (check + generic encoder, all resources)', strictMs);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(stat(v).p50)]));
}

function encodedSizes(resources: ResourceJson[]): { total: number; routeConfiguration: number; clusterAvg: number; listener: number } {
  let total = 0;
  let clusterBytes = 0;
  let clusterCount = 0;
  let route = 0;
  let listener = 0;
  for (const r of resources) {
    const n = encodeMessage(r.typeName, r.json).length;
    total += n;
    if (r.typeUrl === TYPE_URL.cluster) {
      clusterBytes += n;
      clusterCount++;
    } else if (r.typeUrl === TYPE_URL.route) route = n;
    else if (r.typeUrl === TYPE_URL.listener) listener = n;
  }
  return { total, routeConfiguration: route, clusterAvg: Math.round(clusterBytes / Math.max(1, clusterCount)), listener };
}
