/**
 * The admin audit record's diff of two policy texts: the old unbounded line diff (`diffLines` over the whole texts, run
 * whole on the event loop, every changed line kept) against the bounded `policyDiff` (sliced, first 200 lines + counts
 * and hashes), interleaved round by round in one process, for a one-line edit and for a whole policy replaced.
 * Measures the total time, the longest stretch without an event-loop turn, and the size of what goes in the record.
 *
 *   npx tsx bench/policy/audit-diff.ts [--quick] [--rules N]      (npm run bench -- policy-audit-diff [--quick])
 *
 * Writes bench/results/policy-audit-diff.json.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { generatePolicy } from '../authz/policy-gen.js';
import { policyDiff } from '../../src/admin/policy-diff.js';
import { diffLines } from '../../src/dashboard/text-diff.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rules: { type: 'string', default: '100000' } } });
const RULES = Number(flags.rules);
const ROUNDS = flags.quick ? 3 : 7;
const log = (m: string) => console.log(`[policy-audit-diff] ${m}`);

interface Sample {
  totalMs: number;
  longestBlockMs: number;
  recordBytes: number;
}

/** The diff as the audit used to make it: every changed line, whole, on the loop. */
function oldDiff(before: string, after: string): Sample {
  const t0 = performance.now();
  const lines = diffLines(before, after)
    .lines.filter((l) => l.op !== '=')
    .map((l) => `${l.op}${l.line}`);
  const ms = performance.now() - t0;
  return { totalMs: ms, longestBlockMs: ms, recordBytes: Buffer.byteLength(JSON.stringify(lines)) };
}

async function newDiff(before: string, after: string): Promise<Sample> {
  let longest = 0;
  let last = performance.now();
  const t0 = last;
  const d = await policyDiff(before, after, async () => {
    longest = Math.max(longest, performance.now() - last);
    await new Promise((r) => setImmediate(r));
    last = performance.now();
  });
  const end = performance.now();
  longest = Math.max(longest, end - last);
  return { totalMs: end - t0, longestBlockMs: longest, recordBytes: Buffer.byteLength(JSON.stringify(d)) };
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((x) => round(x, 2));
  const a = generatePolicy(RULES, 42).yaml;
  const cases = { 'one-line edit': a.replace('api.vendor-1999.com', 'api.vendor-x.com'), 'whole policy replaced': generatePolicy(RULES, 43).yaml };
  log(`load average ${loadStart.join(' ')}; node ${process.version}; ${RULES} rules (${(a.length / 1e6).toFixed(1)} MB); ${ROUNDS} rounds`);
  const results: Record<string, { old: Sample[]; bounded: Sample[] }> = {};
  for (const [name, b] of Object.entries(cases)) {
    const r = (results[name] = { old: [] as Sample[], bounded: [] as Sample[] });
    for (let i = 0; i < ROUNDS; i++) {
      for (const which of i % 2 === 0 ? ['old', 'bounded'] : ['bounded', 'old']) {
        if (which === 'old') r.old.push(oldDiff(a, b));
        else r.bounded.push(await newDiff(a, b));
      }
    }
  }
  const s = (xs: number[]) => ({ median: round(summarize(xs).p50, 1), min: round(Math.min(...xs), 1), max: round(Math.max(...xs), 1) });
  const out = Object.fromEntries(
    Object.entries(results).map(([name, r]) => [
      name,
      Object.fromEntries((['old', 'bounded'] as const).map((k) => [k, { totalMs: s(r[k].map((x) => x.totalMs)), longestBlockMs: s(r[k].map((x) => x.longestBlockMs)), recordBytes: r[k][0]!.recordBytes }])),
    ]),
  );
  const loadEnd = loadavg().map((x) => round(x, 2));
  console.log('');
  for (const [name, r] of Object.entries(out)) {
    for (const k of ['old', 'bounded'] as const) {
      const x = r[k]!;
      console.log(`${name}, ${k}: total ${x.totalMs.median} ms (${x.totalMs.min}-${x.totalMs.max}), longest block ${x.longestBlockMs.median} ms (${x.longestBlockMs.min}-${x.longestBlockMs.max}), diff ${x.recordBytes} bytes`);
    }
  }
  console.log(`load average ${loadStart.join(' ')} -> ${loadEnd.join(' ')}`);
  log(`wrote ${writeResult('policy-audit-diff', { rules: RULES, rounds: ROUNDS, loadAverage: { start: loadStart, end: loadEnd }, cases: out })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
