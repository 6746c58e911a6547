import { writeFileSync, mkdirSync } from 'node:fs';
import { compileDetectors, scrubBody } from '../../src/scrub/index.js';

/** 1 MB adversarial inputs per detector family; each must finish within the time budget (linear scanning). */
const BUDGET_MS = 250;
const MB = 1 << 20;
const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const inputs: Record<string, string> = {
  'a@a.a@': fill('a@a.a@'),
  'long local part @': fill('a'.repeat(5000) + '@'),
  'digits with spaces': fill('1 '),
  'digit groups 1111-': fill('1111-'),
  '+( runs': fill('+(1) '),
  'dotted quads 1.1.1.1.': fill('1.1.1.'),
  'colons and hex': fill('a:b:'),
  '::::': fill(':'),
  'eyJ.': fill('eyJhbGciOi.'),
  'eyJ long segment': 'eyJ' + fill('A'),
  '-----BEGIN PRIVATE KEY-----': fill('-----BEGIN PRIVATE KEY-----\n'),
  'ghp_ repeated': fill('ghp_'),
  'Bearer Bearer': fill('Bearer '),
  'Basic + base64': fill('Basic QUFB'),
  'scheme://a:b': fill('x://a:b'),
  'IBAN-like GB00': fill('GB00 '),
  'born 1990-': fill('born 1990-01-'),
  'secret + base64': fill('secret ' + 'A'.repeat(39) + ' '),
  'base64 blob': fill('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJj'),
  'json deep nesting': '['.repeat(MB / 2) + ']'.repeat(MB / 2),
  'json many strings': '[' + fill('"a@b.co",').slice(0, MB - 10) + '"x"]',
};

const set = compileDetectors({ fingerprintKey: 'bench' });
const results: Array<{ input: string; ms: number; findings: number; withinBudget: boolean }> = [];
for (const [name, text] of Object.entries(inputs)) {
  const ct = name.startsWith('json') ? 'application/json' : 'text/plain';
  const t = performance.now();
  const r = scrubBody(set, text, ct);
  const ms = performance.now() - t;
  results.push({ input: name, ms, findings: r.findings.length, withinBudget: ms <= BUDGET_MS });
  console.log(`${name.padEnd(30)} ${ms.toFixed(1).padStart(8)} ms  findings=${r.findings.length}  ${ms <= BUDGET_MS ? 'ok' : 'OVER BUDGET'}`);
}
const worst = Math.max(...results.map((r) => r.ms));
console.log(`worst ${worst.toFixed(1)} ms per MB (budget ${BUDGET_MS} ms)`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scrub-pathological.json', JSON.stringify({ budgetMs: BUDGET_MS, results }, null, 2) + '\n');
