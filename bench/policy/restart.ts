/**
 * Restart with a large stored policy: PolicyManager.init() on a data directory whose store holds the version's validated
 * form (`policy.validated`: JSON.parse of the document, no YAML, no schema) against the same directory without it (the
 * floor: the text parsed and validated in the worker, as before), interleaved round by round in one process.
 *
 *   npx tsx bench/policy/restart.ts [--quick] [--rules N]      (npm run bench -- policy-restart [--quick])
 *
 * Goal (issue 12): start-up <= 3 s at 100,000 rules; this measures the policy's share of it. Writes
 * bench/results/policy-restart.json.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { generatePolicy } from '../authz/policy-gen.js';
import { PolicyManager } from '../../src/engine/policy-manager.js';
import { PolicyParser } from '../../src/engine/policy-parser.js';
import { EmbeddedPolicyStore } from '../../src/store/embedded/policy-store.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rules: { type: 'string', default: '100000' } } });
const RULES = Number(flags.rules);
const ROUNDS = flags.quick ? 2 : 5;
const log = (m: string) => console.log(`[policy-restart] ${m}`);

async function restart(dataDir: string, policyFile: string, withForm: boolean): Promise<{ ms: number; source: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-restart-run-'));
  cpSync(dataDir, dir, { recursive: true, filter: (src) => withForm || !src.endsWith('policy.validated') });
  const parser = new PolicyParser({ eager: true }); // as the server makes it, before the store is read
  let source: unknown;
  const logger = pino({ level: 'info' }, { write: (l: string) => void (source ??= (JSON.parse(l) as { source?: unknown }).source) });
  const t0 = performance.now();
  const manager = new PolicyManager(new EmbeddedPolicyStore(dir), logger, policyFile, { prepare: (t, k) => parser.prepare(t, k) });
  await manager.init();
  const ms = performance.now() - t0;
  await parser.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, source };
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((x) => round(x, 2));
  const work = mkdtempSync(join(tmpdir(), 'tollgate-restart-'));
  const policyFile = join(work, 'policy.yaml');
  writeFileSync(policyFile, generatePolicy(RULES, 42).yaml);
  const dataDir = join(work, 'data');
  const parser = new PolicyParser({ eager: true });
  await new PolicyManager(new EmbeddedPolicyStore(dataDir), pino({ level: 'silent' }), policyFile, { prepare: (t, k) => parser.prepare(t, k) }).init();
  await parser.close();
  log(`load average ${loadStart.join(' ')}; node ${process.version}; ${RULES} rules; ${ROUNDS} rounds`);
  const form: number[] = [];
  const text: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const withForm of i % 2 === 0 ? [true, false] : [false, true]) {
      const r = await restart(dataDir, policyFile, withForm);
      if (r.source !== (withForm ? 'validated-form' : 'text')) throw new Error(`expected source ${withForm ? 'validated-form' : 'text'}, got ${String(r.source)}`);
      (withForm ? form : text).push(r.ms);
      log(`round ${i + 1}: ${withForm ? 'stored form' : 'text (floor)'} ${Math.round(r.ms)} ms`);
    }
  }
  const s = (xs: number[]) => ({ median: round(summarize(xs).p50, 0), min: round(Math.min(...xs), 0), max: round(Math.max(...xs), 0) });
  const loadEnd = loadavg().map((x) => round(x, 2));
  const result = { rules: RULES, rounds: ROUNDS, loadAverage: { start: loadStart, end: loadEnd }, formMs: s(form), textMs: s(text), ratio: round(summarize(form).p50 / summarize(text).p50, 2) };
  console.log(`\n${RULES} rules: init from the stored form ${result.formMs.median} ms (${result.formMs.min}-${result.formMs.max}) vs from the text ${result.textMs.median} ms (${result.textMs.min}-${result.textMs.max}): ${result.ratio}x; load ${loadStart.join(' ')} -> ${loadEnd.join(' ')}`);
  log(`wrote ${writeResult('policy-restart', result)}`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
