/**
 * A 100,000-rule policy against a 10,000-rule one (issue 12, row 3): start-up, restart from the stored version, RSS,
 * PUT /v1/policy of a same-size policy (accepted? how long?), and Check p50/p99 at 4,000 req/s open loop.
 *
 *   npx tsx bench/policy/scale.ts [--quick] [--sizes 10000,100000] [--rps N] [--no-pin]
 *
 * Sizes alternate round by round (the 10k server is the floor the 100k one is compared with). Tollgate runs pinned to
 * CPU 0, h2load on CPU 1. Goals for the largest size: start-up <= 3 s, RSS <= 400 MiB, PUT accepted, p50 within 1.2x
 * of the smallest size's p50. Writes bench/results/policy-scale.json.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requireH2load } from '../lib/h2load.js';
import { stopOnExit, type Child } from '../lib/proc.js';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { generatePolicy } from '../authz/policy-gen.js';
import { expectAllow, openLoop, putPolicy, startTollgate, writeCheckFrame } from './harness.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '10000,100000' },
    rps: { type: 'string', default: '4000' },
    'no-pin': { type: 'boolean', default: false },
  },
});
requireH2load();
const quick = flags.quick;
const SIZES = flags.sizes.split(',').map(Number);
const RPS = Number(flags.rps);
const ROUNDS = quick ? 1 : 3;
const LOAD_S = quick ? 4 : 8;
const SERVER_CPU = flags['no-pin'] ? undefined : 0;
const LOAD_CPU = flags['no-pin'] ? undefined : 1;
const GOALS = { startupMs: 3000, rssMiB: 400, p50Ratio: 1.2 };

const children: Child[] = [];
stopOnExit(() => children);
const log = (m: string) => console.log(`[policy-scale] ${m}`);
const mib = (kib: number | undefined) => (kib === undefined ? Number.NaN : round(kib / 1024, 0));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SizeRun {
  rules: number;
  yamlBytes: number;
  startupMs: number;
  restartMs: number;
  rssMiBIdle: number;
  put: { status: number; ms: number };
  rssMiBAfterPut: number;
  p50Ms: number;
  p99Ms: number;
  achievedRps: number;
  rssMiBAfterLoad: number;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const work = mkdtempSync(join(tmpdir(), 'tollgate-policy-scale-'));
  log(`load average ${loadAtStart.join(' ')}; node ${process.version}; sizes ${SIZES.join(', ')}; ${RPS} req/s; ${ROUNDS} round(s)`);
  const frame = writeCheckFrame(work);
  const policies = new Map(SIZES.map((n) => [n, [generatePolicy(n, 42), generatePolicy(n, 43)]]));
  const runs: SizeRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const n of i % 2 === 0 ? SIZES : [...SIZES].reverse()) {
      const [a, b] = policies.get(n)!;
      const file = join(work, `policy-${n}.yaml`);
      writeFileSync(file, a!.yaml);
      const first = await startTollgate(work, file, { cpu: SERVER_CPU });
      children.push(first.child);
      await expectAllow(first);
      await sleep(3000);
      const rssMiBIdle = mib(first.child.rssKiB());
      await first.child.stop();
      // Restart on the same data directory: the stored version is served (the file did not change).
      const t = await startTollgate(work, file, { cpu: SERVER_CPU, dataDir: first.dataDir });
      children.push(t.child);
      await expectAllow(t);
      const put = await putPolicy(t, b!.yaml);
      if (put.status !== 200) log(`${n} rules: PUT answered ${put.status}: ${put.body}`);
      await sleep(2000);
      const rssMiBAfterPut = mib(t.child.rssKiB());
      await openLoop(t, frame, join(work, 'warm.log'), RPS / 2, 2, 0, LOAD_CPU);
      const r = await openLoop(t, frame, join(work, `load-${n}-${i}.log`), RPS, LOAD_S, 1, LOAD_CPU);
      const s = summarize(r.latenciesUs);
      const run: SizeRun = {
        rules: n,
        yamlBytes: a!.yaml.length,
        startupMs: first.startupMs,
        restartMs: t.startupMs,
        rssMiBIdle,
        put: { status: put.status, ms: put.ms },
        rssMiBAfterPut,
        p50Ms: round(s.p50 / 1000, 2),
        p99Ms: round(s.p99 / 1000, 2),
        achievedRps: round(r.achievedRps, 0),
        rssMiBAfterLoad: mib(t.child.rssKiB()),
      };
      await t.child.stop();
      runs.push(run);
      log(`${n} rules (${(run.yamlBytes / 1e6).toFixed(1)} MB): start ${run.startupMs} ms, restart ${run.restartMs} ms, RSS idle ${run.rssMiBIdle} MiB; PUT ${put.status} in ${put.ms} ms, RSS ${run.rssMiBAfterPut} MiB; ${RPS} req/s: p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms (${run.achievedRps} achieved), RSS ${run.rssMiBAfterLoad} MiB`);
    }
  }
  const med = (xs: number[]) => round(summarize(xs).p50, 2);
  const bySize = SIZES.map((n) => {
    const rs = runs.filter((r) => r.rules === n);
    const m = (f: (r: SizeRun) => number) => ({ median: med(rs.map(f)), min: Math.min(...rs.map(f)), max: Math.max(...rs.map(f)) });
    return { rules: n, startupMs: m((r) => r.startupMs), restartMs: m((r) => r.restartMs), rssMiBIdle: m((r) => r.rssMiBIdle), putMs: m((r) => r.put.ms), putAccepted: rs.every((r) => r.put.status === 200), rssMiBAfterPut: m((r) => r.rssMiBAfterPut), rssMiBAfterLoad: m((r) => r.rssMiBAfterLoad), p50Ms: m((r) => r.p50Ms), p99Ms: m((r) => r.p99Ms) };
  });
  const small = bySize[0]!;
  const large = bySize.at(-1)!;
  const p50Ratio = round(large.p50Ms.median / small.p50Ms.median, 2);
  const rssMax = Math.max(large.rssMiBIdle.median, large.rssMiBAfterPut.median, large.rssMiBAfterLoad.median);
  const goals = {
    startup: { goalMs: GOALS.startupMs, measuredMs: large.startupMs.median, restartMs: large.restartMs.median, met: large.startupMs.median <= GOALS.startupMs },
    rss: { goalMiB: GOALS.rssMiB, measuredMiB: rssMax, met: rssMax <= GOALS.rssMiB },
    put: { met: large.putAccepted, ms: large.putMs.median },
    p50: { goalRatio: GOALS.p50Ratio, ratio: p50Ratio, met: p50Ratio <= GOALS.p50Ratio },
  };
  const loadAtEnd = loadavg().map((x) => round(x, 2));
  console.log(`\nload average ${loadAtStart.join(' ')} -> ${loadAtEnd.join(' ')}`);
  for (const s of bySize) console.log(`${s.rules} rules: start ${s.startupMs.median} ms, restart ${s.restartMs.median} ms, RSS idle/after PUT/after load ${s.rssMiBIdle.median}/${s.rssMiBAfterPut.median}/${s.rssMiBAfterLoad.median} MiB, PUT ${s.putAccepted ? 'accepted' : 'REFUSED'} in ${s.putMs.median} ms, p50 ${s.p50Ms.median} ms, p99 ${s.p99Ms.median} ms`);
  console.log(`goals (${large.rules} rules): start-up <= ${GOALS.startupMs} ms ${goals.startup.met ? 'MET' : 'NOT MET'}; RSS <= ${GOALS.rssMiB} MiB ${goals.rss.met ? 'MET' : 'NOT MET'}; PUT ${goals.put.met ? 'MET' : 'NOT MET'}; p50 ratio ${p50Ratio} <= ${GOALS.p50Ratio} ${goals.p50.met ? 'MET' : 'NOT MET'}`);
  const path = writeResult('policy-scale', { sizes: SIZES, rps: RPS, quick, loadAverage: { start: loadAtStart, end: loadAtEnd }, runs, bySize, goals });
  log(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
