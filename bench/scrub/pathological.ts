import { loadavg } from 'node:os';
import { compileDetectors, scrubBody } from '../../src/scrub/index.js';
import { writeResult } from '../lib/results.js';

/**
 * Adversarial inputs per detector family (and for the anchor prefilter), each built at 256 KB and
 * 1 MB: the 1 MB run must finish within the time budget, and 4x the input must cost about 4x the
 * time. Times are process CPU time, which a loaded machine disturbs less than the wall clock. A ratio
 * above 8 is reported as superlinear when the 1 MB run takes 50 ms or more (below that, one GC or JIT
 * pause moves the ratio). Usage: npx tsx bench/scrub/pathological.ts [--quick] [--only=SUBSTRING]
 */
const BUDGET_MS = 250;
const MB = 1 << 20;
const QUICK = process.argv.includes('--quick');
const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
/** `size` chars of units made by `unit(i)` for i = 0, 1, … (distinct values, so no memo helps). */
const fillEach = (unit: (i: number) => string, size: number): string => {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const u = unit(i);
    parts.push(u);
    n += u.length;
  }
  return parts.join('').slice(0, size);
};
/** Deterministic digits for the i-th decoy: a multiplicative hash, so neighbours differ everywhere. */
const decoyDigits = (i: number, width: number): string => String((Math.imul(i + 1, 2654435761) >>> 0) % 10 ** width).padStart(width, '7');
const inputs: Record<string, (size: number) => string> = {
  'a@a.a@': (n) => fill('a@a.a@', n),
  'long local part @': (n) => fill('a'.repeat(5000) + '@', n),
  'digits with spaces': (n) => fill('1 ', n),
  'digit groups 1111-': (n) => fill('1111-', n),
  '+( runs': (n) => fill('+(1) ', n),
  'dotted quads 1.1.1.1.': (n) => fill('1.1.1.', n),
  'colons and hex': (n) => fill('a:b:', n),
  '::::': (n) => fill(':', n),
  'eyJ.': (n) => fill('eyJhbGciOi.', n),
  'eyJ long segment': (n) => 'eyJ' + fill('A', n),
  '-----BEGIN PRIVATE KEY-----': (n) => fill('-----BEGIN PRIVATE KEY-----\n', n),
  'ghp_ repeated': (n) => fill('ghp_', n),
  'Bearer Bearer': (n) => fill('Bearer ', n),
  'Basic + base64': (n) => fill('Basic QUFB', n),
  'scheme://a:b': (n) => fill('x://a:b', n),
  'IBAN-like GB00': (n) => fill('GB00 ', n),
  'born 1990-': (n) => fill('born 1990-01-', n),
  'secret + base64': (n) => fill('secret ' + 'A'.repeat(39) + ' ', n),
  'base64 blob': (n) => fill('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJj', n),
  'anchor prefixes, never whole': (n) => fill('glpa sk-an ghp xo eyJhbGc AKI hooks.slack.co -----BEGI Beare _live npm ', n),
  'overlapping anchors': (n) => fill('sk-sk-ant-sk-proj-xoxapp-glpat-gl', n),
  'phone-shaped reference numbers': (n) => fill('ref 415-555-2671-42, ', n),
  'phone-shaped references, all distinct': (n) => fillEach((i) => `ref ${decoyDigits(i, 3)}-${decoyDigits(i * 7 + 3, 3)}-${decoyDigits(i * 13 + 5, 4)}-${decoyDigits(i, 2)}, `, n),
  'phone-shaped runs back to back, distinct': (n) => fillEach((i) => `(${decoyDigits(i, 3)}) ${decoyDigits(i * 7 + 3, 3)}-${decoyDigits(i * 13 + 5, 4)} `, n),
  '+ numbers, all distinct': (n) => fillEach((i) => `+${decoyDigits(i, 2)} ${decoyDigits(i * 7 + 3, 3)} ${decoyDigits(i * 13 + 5, 4)}, `, n),
  'non-ASCII text with @': (n) => fill('日本語のテキスト😀 @ ', n),
  'json deep nesting': (n) => '['.repeat(n / 2) + ']'.repeat(n / 2),
  'json many strings': (n) => '[' + fill('"a@b.co",', n).slice(0, n - 10) + '"x"]',
};

const set = compileDetectors({ fingerprintKey: 'bench' });
function time(text: string, ct: string): { ms: number; findings: number } {
  let best = Infinity;
  let findings = 0;
  for (let i = 0; i < (QUICK ? 1 : 3); i++) {
    const t = process.cpuUsage();
    findings = scrubBody(set, text, ct).findings.length;
    const used = process.cpuUsage(t);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return { ms: best, findings };
}
const results: Array<{ input: string; ms: number; msQuarter: number; scaling: number; findings: number; withinBudget: boolean; linear: boolean }> = [];
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
for (const [name, make] of Object.entries(inputs)) {
  if (only !== undefined && !name.includes(only)) continue;
  const ct = name.startsWith('json') ? 'application/json' : 'text/plain';
  const quarter = time(make(MB / 4), ct);
  const { ms, findings } = time(make(MB), ct);
  const scaling = ms / Math.max(quarter.ms, 0.05);
  const r = { input: name, ms, msQuarter: quarter.ms, scaling, findings, withinBudget: ms <= BUDGET_MS, linear: scaling <= 8 || ms < 50 };
  results.push(r);
  console.log(`${name.padEnd(32)} ${ms.toFixed(1).padStart(8)} ms/MB  x${scaling.toFixed(1).padStart(4)} for 4x input  findings=${findings}  ${r.withinBudget ? 'ok' : 'OVER BUDGET'}${r.linear ? '' : ' SUPERLINEAR'}`);
}
const worst = Math.max(...results.map((r) => r.ms));
console.log(`worst ${worst.toFixed(1)} ms per MB (budget ${BUDGET_MS} ms); ${results.filter((r) => !r.linear).length} superlinear; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
// A partial run (--only) does not overwrite the full result.
if (only === undefined) console.log(`wrote ${writeResult('scrub-pathological', { budgetMs: BUDGET_MS, loadAverage: loadavg(), results })}`);
