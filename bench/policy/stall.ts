/**
 * The longest event-loop block while a policy is built for installation, in one process, the old way against the new
 * way interleaved (issue 12, row 2, without the HTTP/gRPC noise of reload.ts):
 *   before: YAML parsed in the worker, then schema + compile of the whole document on the event loop;
 *   after:  parse + validation in the worker, rules indexed on the event loop one 1,000-rule chunk per turn.
 * A 1 ms ticker records the gaps between its turns; the largest gap is how long a Check could have waited.
 *
 *   npx tsx bench/policy/stall.ts [--quick] [--rules N]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { generatePolicy } from '../authz/policy-gen.js';
import { compilePrepared } from '../../src/engine/policy-compile.js';
import { PolicyParser } from '../../src/engine/policy-parser.js';
import { buildPolicyFromDocument } from '../../src/engine/policy-version.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rules: { type: 'string', default: '10000' } } });
const ROUNDS = flags.quick ? 3 : 7;
const RULES = Number(flags.rules);

/** Runs `work` while a 1 ms timer measures the gaps between its turns; resolves with the largest and the sum over 10 ms. */
async function blocked(work: () => Promise<unknown>): Promise<{ maxMs: number; over10Ms: number; totalMs: number }> {
  let last = performance.now();
  let max = 0;
  let over10 = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last;
    last = now;
    if (gap > max) max = gap;
    if (gap > 10) over10 += gap;
  }, 1);
  const t0 = performance.now();
  await work();
  const totalMs = performance.now() - t0;
  clearInterval(timer);
  const tail = performance.now() - last;
  return { maxMs: round(Math.max(max, tail), 1), over10Ms: round(over10, 0), totalMs: round(totalMs, 0) };
}

async function main(): Promise<void> {
  const load = loadavg().map((x) => round(x, 2));
  const texts = [generatePolicy(RULES, 42).yaml, generatePolicy(RULES, 43).yaml];
  const parser = new PolicyParser({ eager: true });
  await parser.parse('version: 1\n');
  const before = async (text: string) => {
    const parsed = await parser.parse(text, new Map());
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
    const built = buildPolicyFromDocument(text, parsed.document);
    if (!built.ok) throw new Error('before: build failed');
  };
  const after = async (text: string) => {
    const prepared = await parser.prepare(text, new Map());
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems.slice(0, 3)));
    const built = await compilePrepared(text, prepared.prepared);
    if (!built.ok) throw new Error('after: build failed');
  };
  await before(texts[1]!);
  await after(texts[1]!);
  const rows: Array<{ way: string; maxMs: number; over10Ms: number; totalMs: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [way, fn] of i % 2 === 0 ? ([['before', before], ['after', after]] as const) : ([['after', after], ['before', before]] as const)) {
      const r = await blocked(() => fn(texts[i % 2]!));
      rows.push({ way, ...r });
      console.log(`[policy-stall] round ${i + 1} ${way}: longest block ${r.maxMs} ms, time in blocks over 10 ms ${r.over10Ms} ms, build ${r.totalMs} ms`);
    }
  }
  await parser.close();
  const med = (way: string, k: 'maxMs' | 'over10Ms' | 'totalMs') => {
    const xs = rows.filter((r) => r.way === way).map((r) => r[k]);
    return { median: round(summarize(xs).p50, 1), min: Math.min(...xs), max: Math.max(...xs) };
  };
  const summary = { before: { maxMs: med('before', 'maxMs'), over10Ms: med('before', 'over10Ms'), totalMs: med('before', 'totalMs') }, after: { maxMs: med('after', 'maxMs'), over10Ms: med('after', 'over10Ms'), totalMs: med('after', 'totalMs') } };
  const end = loadavg().map((x) => round(x, 2));
  console.log(`\n${RULES} rules, ${ROUNDS} rounds, load average ${load.join(' ')} -> ${end.join(' ')}`);
  console.log(`longest event-loop block: before ${summary.before.maxMs.median} ms (${summary.before.maxMs.min}-${summary.before.maxMs.max}), after ${summary.after.maxMs.median} ms (${summary.after.maxMs.min}-${summary.after.maxMs.max})`);
  console.log(`build time: before ${summary.before.totalMs.median} ms, after ${summary.after.totalMs.median} ms`);
  console.log(`wrote ${writeResult('policy-stall', { rules: RULES, rounds: ROUNDS, loadAverage: { start: load, end }, rows, summary })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
