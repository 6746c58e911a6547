// `tollgate scan --jsonl` in-process on mixed JSONL, interleaved against a read/parse/write floor.
// Usage: npx tsx bench/scrub/scan.ts [--quick] [--mb N] [--rounds N] [--baseline DIR]
// --baseline DIR: also run the scan command of another checkout (e.g. a `git worktree` of an older commit), interleaved.
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { runScanCommand } from '../../src/scrub/index.js';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { mixedJsonl } from './jsonl.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, mb: { type: 'string' }, rounds: { type: 'string' }, baseline: { type: 'string' } } });
const mb = Number(values.mb ?? (values.quick ? 5 : 20));
const rounds = Number(values.rounds ?? (values.quick ? 3 : 6));

const file = join(tmpdir(), `tollgate-scan-bench-${mb}mb-v1.jsonl`);
if (!existsSync(file)) writeFileSync(file, mixedJsonl(mb * 1e6));
const bytes = statSync(file).size;

/** Counts what would reach stdout, so output cost is paid but nothing is kept. */
function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** The floor: read lines, parse each, write an answer of the same shape with no detection. */
async function floor(): Promise<number> {
  const out = sink();
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line === '') continue;
    const rec = JSON.parse(line) as { id?: unknown; text: string };
    out.write(JSON.stringify({ id: rec.id ?? null, findings: [], scrubbed: rec.text }) + '\n');
  }
  return out.bytes;
}

type ScanCommand = typeof runScanCommand;
const baselineScan: ScanCommand | undefined = values.baseline === undefined ? undefined : ((await import(join(values.baseline, 'src/scrub/index.ts'))) as { runScanCommand: ScanCommand }).runScanCommand;

function scanWith(command: ScanCommand): () => Promise<number> {
  return async () => {
    const out = sink();
    const status = await command(['--jsonl', file], { stdin: process.stdin, stdout: out, stderr: sink() });
    if (status !== 0) throw new Error(`scan exited ${status}`);
    return out.bytes;
  };
}
const tollgate = scanWith(runScanCommand);
const baseline = baselineScan === undefined ? undefined : scanWith(baselineScan);

async function timed(fn: () => Promise<number>): Promise<{ mbps: number; cpuUsPerMB: number; outBytes: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const outBytes = await fn();
  const s = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  return { mbps: bytes / 1e6 / s, cpuUsPerMB: (used.user + used.system) / (bytes / 1e6), outBytes };
}

const load = loadavg();
console.log(`${(bytes / 1e6).toFixed(1)} MB mixed JSONL, ${rounds} interleaved rounds, load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
await floor();
await tollgate();
if (baseline) await baseline();
const fl: number[] = [];
const tg: number[] = [];
const bl: number[] = [];
const flCpu: number[] = [];
const tgCpu: number[] = [];
const blCpu: number[] = [];
for (let i = 0; i < rounds; i++) {
  const f = await timed(floor);
  const t = await timed(tollgate);
  const b = baseline ? await timed(baseline) : undefined;
  fl.push(f.mbps);
  tg.push(t.mbps);
  flCpu.push(f.cpuUsPerMB);
  tgCpu.push(t.cpuUsPerMB);
  if (b) {
    bl.push(b.mbps);
    blCpu.push(b.cpuUsPerMB);
  }
  console.log(`round ${i + 1}: floor ${f.mbps.toFixed(1)} MB/s, tollgate ${t.mbps.toFixed(1)} MB/s (${(t.mbps / f.mbps).toFixed(2)}×)${b ? `, baseline ${b.mbps.toFixed(1)} MB/s` : ''}; CPU µs/MB floor ${f.cpuUsPerMB.toFixed(0)}, tollgate ${t.cpuUsPerMB.toFixed(0)}${b ? `, baseline ${b.cpuUsPerMB.toFixed(0)}` : ''}`);
}
const sf = summarize(fl);
const st = summarize(tg);
const ratios = tg.map((t, i) => t / fl[i]!);
const sr = summarize(ratios);
console.log(`floor    median ${sf.p50.toFixed(1)} MB/s (${sf.min.toFixed(1)}–${sf.max.toFixed(1)}), CPU ${summarize(flCpu).p50.toFixed(0)} µs/MB`);
console.log(`tollgate median ${st.p50.toFixed(1)} MB/s (${st.min.toFixed(1)}–${st.max.toFixed(1)}), CPU ${summarize(tgCpu).p50.toFixed(0)} µs/MB`);
console.log(`ratio    median ${sr.p50.toFixed(2)}× (${sr.min.toFixed(2)}–${sr.max.toFixed(2)}); goal ≥ 100 MB/s`);
// CPU time per MB is the figure a loaded machine disturbs least: MB/s if the scan had a core to itself.
const cpuMbps = 1e6 / summarize(tgCpu).p50;
console.log(`tollgate by CPU time: ${cpuMbps.toFixed(1)} MB/s per core (floor ${(1e6 / summarize(flCpu).p50).toFixed(1)})`);
const sb = bl.length > 0 ? summarize(bl) : undefined;
if (sb) console.log(`baseline median ${sb.p50.toFixed(1)} MB/s (${sb.min.toFixed(1)}–${sb.max.toFixed(1)}), CPU ${summarize(blCpu).p50.toFixed(0)} µs/MB (${(1e6 / summarize(blCpu).p50).toFixed(1)} MB/s per core)`);
const path = writeResult('scrub-scan', {
  command: `npx tsx bench/scrub/scan.ts${values.quick ? ' --quick' : ''}`,
  inputBytes: bytes,
  rounds,
  loadAverage: load.map((l) => round(l)),
  floor: { what: 'readline + JSON.parse + JSON.stringify per line, no detection', mbps: sf, cpuUsPerMB: summarize(flCpu) },
  tollgate: { what: 'runScanCommand --jsonl, in-process', mbps: st, cpuUsPerMB: summarize(tgCpu) },
  ratio: sr,
  tollgateMbpsByCpu: cpuMbps,
  ...(sb ? { baseline: { dir: values.baseline, mbps: sb, cpuUsPerMB: summarize(blCpu) } } : {}),
  goalMbps: 100,
});
console.log(`wrote ${path}`);
