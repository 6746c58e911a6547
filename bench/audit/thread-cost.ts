/**
 * Audit cost on the calling thread (issue 12, row 1): what writing audit records costs the event loop that answers
 * Envoy's Checks, with the encoding (bounding, canonical JSON, SHA-256 chain) in-thread (the old path) against the
 * encoder worker, interleaved in the same run against a floor where the store does nothing.
 *
 *   npx tsx bench/audit/thread-cost.ts [--quick] [--rounds N] [--records N] [--dir DIR]
 *
 * Each round runs every variant once (rotating the order) on a fresh store: events are published on an EventBus in
 * bursts of 512 per turn of the event loop (as Checks do), an AuditRecorder subscribed, until bus.flush() resolves
 * (every record fsynced). Reported per variant, median and spread over rounds:
 *   loop_us_per_record  CPU time of the main thread (the event loop) per record, from /proc/thread-self/schedstat (Linux;
 *                       elsewhere event-loop busy time, which also counts time the OS ran something else)
 *   cpu_us_per_record   process CPU (all threads: the worker and libuv's fsyncs included) per record
 *   records_per_s       wall-clock throughput to durable
 *   bytes_per_record    on disk, and after gzip of the segment (the compression sealed segments get)
 * Writes bench/results/audit-thread-cost.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { AuditRecorder } from '../../src/audit/recorder.js';
import { EventBus } from '../../src/events/bus.js';
import type { AuditStore } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { makeEvent } from './events.js';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, records: { type: 'string' }, dir: { type: 'string' } } });
const quick = flags.quick;
const ROUNDS = Number(flags.rounds ?? (quick ? 3 : 6));
const N = Number(flags.records ?? (quick ? 30_000 : 100_000));
const root = flags.dir ?? mkdtempSync(join(tmpdir(), 'tollgate-audit-thread-'));


type Variant = 'floor' | 'inline' | 'worker';
const VARIANTS: Variant[] = ['floor', 'inline', 'worker'];
const input = Array.from({ length: N }, (_, i) => makeEvent(i));

interface Sample {
  loopUs: number;
  cpuUs: number;
  rps: number;
  bytes?: number;
  gzBytes?: number;
}

/** CPU ms the calling thread has run (Linux: scheduler runtime in ns; elsewhere event-loop busy time, which is wall-clock-ish). */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return performance.eventLoopUtilization().active;
  }
}

let runNo = 0;
async function run(variant: Variant): Promise<Sample> {
  const dataDir = join(root, `${variant}-${runNo++}`);
  let store: AuditStore;
  let embedded: EmbeddedAuditStore | undefined;
  if (variant === 'floor') store = { append: () => Promise.resolve(), query: () => Promise.reject(new Error('n/a')), verify: () => Promise.reject(new Error('n/a')), close: () => Promise.resolve() };
  else {
    embedded = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0, encodeInWorker: variant === 'worker', maxSegmentBytes: 2 ** 40 });
    if (variant === 'worker' && !(await embedded.encoderReady())) throw new Error('encoder worker did not start');
    store = embedded;
  }
  const bus = new EventBus();
  const recorder = new AuditRecorder(store);
  recorder.attach(bus);
  const loop0 = threadCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i += 512) {
    for (let k = i; k < Math.min(N, i + 512); k++) bus.publish(input[k]!);
    await new Promise((r) => setImmediate(r));
  }
  await bus.flush();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const loopMs = threadCpuMs() - loop0;
  await recorder.close();
  const s: Sample = { loopUs: (loopMs * 1000) / N, cpuUs: (cpu.user + cpu.system) / N, rps: N / seconds };
  if (embedded) {
    if (recorder.stats().appended !== N) throw new Error(`${variant}: ${recorder.stats().appended} of ${N} records appended`);
    await embedded.close();
    const dir = join(dataDir, 'audit');
    const file = readdirSync(dir).find((f) => f.startsWith('audit-'))!;
    const body = readFileSync(join(dir, file));
    s.bytes = body.length / N;
    s.gzBytes = gzipSync(body, { level: 6 }).length / N;
  }
  rmSync(dataDir, { recursive: true, force: true });
  return s;
}

const samples: Record<Variant, Sample[]> = { floor: [], inline: [], worker: [] };
const load = [loadavg()[0]!];
// One unrecorded round first: JIT warm-up of both threads' code.
for (const v of VARIANTS) await run(v);
for (let r = 0; r < ROUNDS; r++) {
  const order = VARIANTS.map((_, k) => VARIANTS[(k + r) % VARIANTS.length]!);
  for (const v of order) samples[v].push(await run(v));
  load.push(loadavg()[0]!);
  console.log(`round ${r + 1}/${ROUNDS}: ${VARIANTS.map((v) => `${v} ${round(samples[v].at(-1)!.loopUs, 2)} µs loop`).join(', ')}`);
}

const stat = (xs: number[]) => {
  const s = summarize(xs);
  return { median: round(s.p50, 2), min: round(s.min, 2), max: round(s.max, 2) };
};
const result: Record<string, unknown> = {};
for (const v of VARIANTS) {
  const xs = samples[v];
  result[v] = {
    loop_us_per_record: stat(xs.map((x) => x.loopUs)),
    cpu_us_per_record: stat(xs.map((x) => x.cpuUs)),
    records_per_s: stat(xs.map((x) => Math.round(x.rps))),
    ...(xs[0]!.bytes !== undefined ? { bytes_per_record: round(xs[0]!.bytes!, 1), gzip_bytes_per_record: round(xs[0]!.gzBytes!, 1), compression_ratio: round(xs[0]!.bytes! / xs[0]!.gzBytes!, 2) } : {}),
  };
}
const med = (v: Variant) => summarize(samples[v].map((x) => x.loopUs)).p50;
const audit = { inline: med('inline') - med('floor'), worker: med('worker') - med('floor') };
const out = {
  quick,
  rounds: ROUNDS,
  records: N,
  load_average_1m: load.map((l) => round(l, 2)),
  variants: result,
  /** Event-loop µs per record the audit adds over the floor (bus + recorder with a store that does nothing). */
  loop_us_over_floor: { inline: round(audit.inline, 2), worker: round(audit.worker, 2), reduction: round(audit.inline / Math.max(audit.worker, 0.01), 1) },
};
console.log(JSON.stringify(out, null, 2));
console.log(`wrote ${writeResult('audit-thread-cost', out)}`);
if (!flags.dir) rmSync(root, { recursive: true, force: true });
