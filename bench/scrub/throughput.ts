import { writeFileSync, mkdirSync } from 'node:fs';
import { compileDetectors, scrubBody } from '../../src/scrub/index.js';
import { jsonBodyOfSize } from './bodies.js';

/** MB/s per core for JSON bodies against the floor of one JSON.parse + JSON.stringify of the same body. */
const set = compileDetectors({ fingerprintKey: 'bench' });

function measure(fn: () => unknown, bytes: number): { mbps: number; p50: number; p99: number; runs: number } {
  const budgetMs = 1500;
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < budgetMs || times.length < 30) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  return { mbps: (bytes * times.length) / (total / 1000) / 1e6, p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]!, runs: times.length };
}

const results: unknown[] = [];
console.log('body'.padEnd(14), 'tollgate MB/s'.padStart(14), 'floor MB/s'.padStart(11), 'ratio'.padStart(6), 'p50 ms'.padStart(9), 'p99 ms'.padStart(9), 'findings'.padStart(9));
for (const pii of [false, true]) {
  for (const size of [1024, 64 * 1024, 1024 * 1024]) {
    const body = jsonBodyOfSize(size, pii);
    const bytes = Buffer.byteLength(body);
    const findings = scrubBody(set, body, 'application/json').findings.length;
    const ours = measure(() => scrubBody(set, body, 'application/json'), bytes);
    const floor = measure(() => JSON.stringify(JSON.parse(body)), bytes);
    const label = `${size >= 1048576 ? '1 MB' : size >= 65536 ? '64 KB' : '1 KB'}${pii ? ' +pii' : ' clean'}`;
    const ratio = floor.mbps / ours.mbps;
    console.log(label.padEnd(14), ours.mbps.toFixed(0).padStart(14), floor.mbps.toFixed(0).padStart(11), ratio.toFixed(2).padStart(6), ours.p50.toFixed(3).padStart(9), ours.p99.toFixed(3).padStart(9), String(findings).padStart(9));
    results.push({ body: label, bytes, findings, tollgate: ours, floor, timeRatioVsFloor: ratio });
  }
}
console.log('ratio = Tollgate time / floor time (JSON.parse + JSON.stringify); target ≥ 100 MB/s on 64 KB bodies');
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scrub-throughput.json', JSON.stringify({ node: process.version, results }, null, 2) + '\n');
