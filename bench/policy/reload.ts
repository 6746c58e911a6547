/**
 * Check latency while a 10,000-rule policy is being reloaded (issue 12, row 2), against the same server with no
 * reload, interleaved round by round so a busy moment on the shared machine hits both sides.
 *
 *   npx tsx bench/policy/reload.ts [--quick] [--rules N] [--rps N] [--no-pin] [--no-xds]
 *
 * One Tollgate (pinned to CPU 0; h2load on CPU 1) serves a generated policy (bench/authz/policy-gen.ts). Each round
 * runs two open-loop windows at --rps (default 1,000): "steady" (nothing else happens) and "reload" (PUT /v1/policy of
 * another generated policy of the same size, seeds alternating, back to back from 1 s into the window until 1 s before
 * its end, so most of the window is spent reloading). Reports p50/p99/max and requests over 100 ms per window, the
 * median and spread over rounds, the PUT times, and the goal: reload p99 <= 1.5x steady p99. Writes
 * bench/results/policy-reload.json.
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
import { expectAllow, openLoop, putPolicy, startTollgate, writeCheckFrame, type OpenLoop } from './harness.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rules: { type: 'string', default: '10000' },
    rps: { type: 'string', default: '1000' },
    'no-pin': { type: 'boolean', default: false },
    'no-xds': { type: 'boolean', default: false },
  },
});
requireH2load();
const quick = flags.quick;
const RULES = Number(flags.rules);
const RPS = Number(flags.rps);
const ROUNDS = quick ? 2 : 5;
const WINDOW_S = quick ? 6 : 10;
const WARMUP_S = 1;
const SERVER_CPU = flags['no-pin'] ? undefined : 0;
const LOAD_CPU = flags['no-pin'] ? undefined : 1;
const GOAL_RATIO = 1.5;

const children: Child[] = [];
stopOnExit(() => children);
const log = (m: string) => console.log(`[policy-reload] ${m}`);

interface Window {
  kind: 'steady' | 'reload';
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over100ms: number;
  requests: number;
  achievedRps: number;
  puts: Array<{ status: number; ms: number }>;
}

function windowOf(kind: Window['kind'], r: OpenLoop, puts: Window['puts']): Window {
  const s = summarize(r.latenciesUs);
  return { kind, p50Ms: round(s.p50 / 1000, 2), p99Ms: round(s.p99 / 1000, 2), maxMs: round(s.max / 1000, 1), over100ms: r.latenciesUs.filter((us) => us > 100_000).length, requests: s.count, achievedRps: round(r.achievedRps, 0), puts };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const work = mkdtempSync(join(tmpdir(), 'tollgate-policy-reload-'));
  log(`load average ${loadAtStart.join(' ')}; node ${process.version}; ${RULES} rules; ${RPS} req/s open loop; ${ROUNDS} rounds of ${WINDOW_S} s windows`);
  const policies = [generatePolicy(RULES, 42), generatePolicy(RULES, 43)];
  const file = join(work, 'policy.yaml');
  writeFileSync(file, policies[0]!.yaml);
  const frame = writeCheckFrame(work);
  const tollgate = await startTollgate(work, file, { cpu: SERVER_CPU, env: flags['no-xds'] ? { TOLLGATE_XDS: 'off' } : {} });
  children.push(tollgate.child);
  await expectAllow(tollgate);
  log(`tollgate ready in ${tollgate.startupMs} ms (pid ${tollgate.child.pid})`);
  // Warm-up: one reload and one short load run, so the first measured window does not pay for JIT and worker start.
  const warm = await putPolicy(tollgate, policies[1]!.yaml);
  if (warm.status !== 200) throw new Error(`warm-up PUT failed: ${warm.status} ${warm.body}`);
  await openLoop(tollgate, frame, join(work, 'warm.log'), RPS, 2, 0, LOAD_CPU);

  let next = 0;
  const rounds: Array<{ steady: Window; reload: Window }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const got: Partial<Record<Window['kind'], Window>> = {};
    for (const kind of i % 2 === 0 ? (['steady', 'reload'] as const) : (['reload', 'steady'] as const)) {
      const puts: Window['puts'] = [];
      const load = openLoop(tollgate, frame, join(work, `${kind}-${i}.log`), RPS, WINDOW_S, WARMUP_S, LOAD_CPU);
      if (kind === 'reload') {
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, (WARMUP_S + 1) * 1000));
        while (Date.now() - t0 < (WARMUP_S + WINDOW_S - 1) * 1000) {
          const p = await putPolicy(tollgate, policies[next % 2]!.yaml);
          next++;
          if (p.status !== 200) throw new Error(`PUT failed: ${p.status} ${p.body}`);
          puts.push({ status: p.status, ms: p.ms });
        }
      }
      const r = await load;
      if (r.non200 > 0) throw new Error(`${kind}: ${r.non200} non-200 answers`);
      got[kind] = windowOf(kind, r, puts);
      const w = got[kind]!;
      log(`round ${i + 1} ${kind}: p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms, max ${w.maxMs} ms, ${w.over100ms} over 100 ms of ${w.requests} (${w.achievedRps} req/s)${puts.length ? `; PUTs ${puts.map((p) => `${p.ms} ms`).join(', ')}` : ''}`);
    }
    rounds.push({ steady: got.steady!, reload: got.reload! });
  }
  await tollgate.child.stop();

  const med = (xs: number[]) => round(summarize(xs).p50, 2);
  const spread = (xs: number[]) => ({ median: med(xs), min: Math.min(...xs), max: Math.max(...xs) });
  const steadyP99 = spread(rounds.map((r) => r.steady.p99Ms));
  const reloadP99 = spread(rounds.map((r) => r.reload.p99Ms));
  const ratios = spread(rounds.map((r) => round(r.reload.p99Ms / r.steady.p99Ms, 2)));
  const putMs = spread(rounds.flatMap((r) => r.reload.puts.map((p) => p.ms)));
  const loadAtEnd = loadavg().map((x) => round(x, 2));
  console.log(`\n${RULES}-rule policy, ${RPS} req/s open loop, ${ROUNDS} rounds (load average ${loadAtStart.join(' ')} -> ${loadAtEnd.join(' ')})`);
  console.log(`steady p99 ${steadyP99.median} ms (${steadyP99.min}-${steadyP99.max}); during reloads p99 ${reloadP99.median} ms (${reloadP99.min}-${reloadP99.max})`);
  console.log(`reload/steady p99 per round: median ${ratios.median} (${ratios.min}-${ratios.max}); goal <= ${GOAL_RATIO}: ${ratios.median <= GOAL_RATIO ? 'MET' : 'NOT MET'}`);
  console.log(`requests over 100 ms: steady ${rounds.map((r) => r.steady.over100ms).join('/')}, reload ${rounds.map((r) => r.reload.over100ms).join('/')}; PUT ${putMs.median} ms (${putMs.min}-${putMs.max})`);
  const path = writeResult('policy-reload', { rules: RULES, rps: RPS, quick, xds: !flags['no-xds'], loadAverage: { start: loadAtStart, end: loadAtEnd }, rounds, steadyP99Ms: steadyP99, reloadP99Ms: reloadP99, ratio: ratios, putMs, goal: { ratio: GOAL_RATIO, met: ratios.median <= GOAL_RATIO } });
  log(`wrote ${path}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
