/**
 * Where a warm publish's time goes at N destinations: one publisher, the N and N+1 policy versions published in
 * turn (one destination added, then removed), under `node --cpu-prof`; prints the hottest functions (self and
 * inclusive) of the src/xds code and the publish times.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/wp --import tsx bench/xds/warm-profile.ts [--destinations 10000] [--runs 20]
 *   npx tsx bench/xds/warm-profile.ts --summarize /tmp/wp
 *   npx tsx bench/xds/warm-profile.ts --compare /tmp/old-tree [--runs 20]   # A/B in one process, interleaved
 *
 * With --compare, a publisher from another checkout's src/xds (same policy versions, its own cache) publishes in
 * turn with this tree's, so both see the same machine load; min and p50 of each are printed and written to
 * bench/results/xds-warm-publish.json with the load average.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPolicy, type PolicyVersion } from '../../src/engine/policy-version.js';
import { SnapshotCache } from '../../src/xds/cache/cache.js';
import { PolicyPublisher } from '../../src/xds/publisher.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { summarizeCpuProfile } from '../lib/cpuprofile.js';
import { round, summarize } from '../lib/stats.js';
import { policyText } from './policy.js';

const { values: flags } = parseArgs({
  options: { destinations: { type: 'string', default: '10000' }, runs: { type: 'string', default: '20' }, summarize: { type: 'string' }, compare: { type: 'string' } },
});

interface Publisher {
  publish(v: PolicyVersion): { buildMs: number; ok: boolean };
}

if (flags.summarize) {
  const dir = flags.summarize;
  // The main thread's profile is the largest (the others are tsx's loader threads).
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((x, y) => statSync(y).size - statSync(x).size)[0];
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const s = summarizeCpuProfile(file, resolve('.'), 30);
  for (const f of s.functions) console.log(`${f.selfMs.toFixed(0).padStart(6)} ms self ${f.totalMs.toFixed(0).padStart(6)} ms total  ${f.function} ${f.location}`);
} else {
  const n = Number(flags.destinations);
  const version = (text: string, v: number): PolicyVersion => {
    const built = buildPolicy(text);
    if (!built.ok) throw new Error('generated policy is invalid');
    return { ...built.build, version: v, etag: `"${v}"`, loadedAt: new Date().toISOString() };
  };
  const a = version(policyText(n), 1);
  const b = version(policyText(n + 1), 2);
  const options = xdsOptionsSchema.parse({});
  const trees: Array<{ label: string; publisher: Publisher; ms: number[] }> = [{ label: 'this tree', publisher: new PolicyPublisher(new SnapshotCache(), options), ms: [] }];
  if (flags.compare) {
    const dir = resolve(flags.compare);
    const other = (await import(pathToFileURL(join(dir, 'src/xds/publisher.ts')).href)) as { PolicyPublisher: new (c: unknown, o: unknown) => Publisher };
    const otherCache = (await import(pathToFileURL(join(dir, 'src/xds/cache/cache.ts')).href)) as { SnapshotCache: new () => unknown };
    trees.push({ label: flags.compare, publisher: new other.PolicyPublisher(new otherCache.SnapshotCache(), options), ms: [] });
  }
  for (const t of trees) t.publisher.publish(a);
  for (let i = 0; i < Number(flags.runs); i++) {
    for (const t of i % 2 === 0 ? trees : [...trees].reverse()) {
      t.ms.push(t.publisher.publish({ ...b, version: 2 * i + 2 }).buildMs);
      t.ms.push(t.publisher.publish({ ...a, version: 2 * i + 3 }).buildMs);
    }
  }
  const load = loadavg()[0] ?? Number.NaN;
  const out = trees.map((t) => {
    const s = summarize(t.ms.slice(2));
    console.log(`${t.label}: warm publish at ${n} destinations: min ${s.min.toFixed(1)} ms, p50 ${s.p50.toFixed(1)} ms, max ${s.max.toFixed(1)} (${s.count} publishes)`);
    return { tree: t.label, minMs: round(s.min, 1), p50Ms: round(s.p50, 1), maxMs: round(s.max, 1), publishes: s.count };
  });
  console.log(`load average ${load.toFixed(1)}`);
  if (flags.compare) writeFileSync(resolve('bench/results/xds-warm-publish.json'), JSON.stringify({ destinations: n, loadAverage: load, node: process.version, results: out }, null, 2) + '\n');
}
