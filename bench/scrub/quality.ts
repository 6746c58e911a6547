import { writeFileSync, mkdirSync } from 'node:fs';
import { compileDetectors, scrubBody, DETECTOR_IDS } from '../../src/scrub/index.js';
import { generateCorpus } from './corpus.js';
import { fmt, prf, score, type Counts } from './quality-lib.js';

/** Precision/recall per type on the generated corpus, and the false-positive rate on hard negatives. */
const corpus = generateCorpus();
const set = compileDetectors({ fingerprintKey: 'bench' });
const counts = new Map<string, Counts>();
let negatives = 0;
let negativesWithFindings = 0;
const misses: string[] = [];
const t0 = performance.now();
for (const s of corpus) {
  const r = scrubBody(set, s.text, s.content_type);
  const { fp } = score(s.spans, r.findings, counts);
  if (s.negative) {
    negatives++;
    if (r.findings.length > 0) negativesWithFindings++;
  }
  if ((fp > 0 || r.findings.length < s.spans.length) && misses.length < 40) {
    misses.push(`${s.id} [${s.content_type}] labels=${JSON.stringify(s.spans.map((l) => [l.type, s.text.slice(l.start, l.end)]))} found=${JSON.stringify(r.findings.map((f) => [f.type, s.text.slice(f.start, f.end)]))}`);
  }
}
const ms = performance.now() - t0;
const rows = DETECTOR_IDS.map((type) => {
  const c = counts.get(type) ?? { tp: 0, fp: 0, fn: 0 };
  return { type, ...c, ...prf(c) };
});
console.log(`corpus: ${corpus.length} samples (${negatives} hard-negative), scanned in ${ms.toFixed(0)} ms`);
console.log('type'.padEnd(24), 'tp'.padStart(5), 'fp'.padStart(5), 'fn'.padStart(5), 'precision'.padStart(10), 'recall'.padStart(8));
for (const r of rows) console.log(r.type.padEnd(24), String(r.tp).padStart(5), String(r.fp).padStart(5), String(r.fn).padStart(5), fmt(r.precision).padStart(10), fmt(r.recall).padStart(8));
const fpRate = negativesWithFindings / negatives;
console.log(`negative samples with any finding: ${negativesWithFindings}/${negatives} = ${(fpRate * 100).toFixed(2)}% (target ≤ 0.5%)`);
if (process.argv.includes('--misses')) for (const m of misses) console.log(m);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scrub-quality.json', JSON.stringify({ samples: corpus.length, negatives, negativesWithFindings, fpRate, perType: rows }, null, 2) + '\n');
