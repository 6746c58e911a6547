/**
 * xDS benchmark (issue 3): snapshot build time, policy-change propagation to 1,000 ADS streams, delta efficiency.
 *
 *   npx tsx bench/xds/run.ts [--quick] [--streams 1000] [--per-conn 1] [--destinations 1000] [--puts 5]
 *                            [--sizes 100,1000,10000] [--runs 5] [--get-only] [--no-pin] [--skip-build] [--skip-fanout]
 *                            [--profile | --no-profile]
 *
 * 1. Build (bench/xds/build.ts, own process, CPU 0): `PolicyPublisher.publish` of a policy version with 100,
 *    1,000 and 10,000 destinations, cold and warm (one destination added / removed), its memory, and the floor
 *    `JSON.stringify` of the same resource JSON. Target: 10,000 destinations < 200 ms.
 * 2. Fan-out: Tollgate (`bin/tollgate.js serve`, CPU 0) with a 1,000-destination policy; 1,000 simulated Envoys
 *    (bench/xds/envoys.ts, one process on CPU 1; half SotW, half delta; one HTTP/2 connection each by default).
 *    Each round PUTs the policy with one more destination and times, per stream, until it ACKed the new clusters
 *    and routes. Floor: the same streams on a no-op bidi server (noop-server.ts, CPU 0) pushed one tiny message.
 *    Target: all streams ACK within 1 s of the PUT.
 * 3. Delta efficiency: resources per response for that change, delta vs SotW.
 * When the fan-out target is missed (or with --profile), a second Tollgate runs under `node --cpu-prof` and the
 * samples taken during its PUT rounds show where the time goes.
 *
 * Writes bench/results/xds.json (xds-<N>-destinations.json with --destinations N other than 1000, xds-build.json
 * with --skip-fanout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Child, commandExists, freePort, stopOnExit } from '../lib/proc.js';
import { writeResult } from '../lib/results.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import type { Command, Connected, Round, TypeCounts } from './envoys.js';
import { kindOf } from './mix.js';
import { expectedClusters, policyText, type PolicyShape } from './policy.js';
import { nowUs, summarizeWindows, type WindowedProfile } from './profile.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'bench', 'xds');
const TARGET_BUILD_MS = 200;
const TARGET_ALL_ACK_MS = 1000;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    streams: { type: 'string', default: '1000' },
    'per-conn': { type: 'string', default: '1' },
    'sotw-percent': { type: 'string', default: '50' },
    destinations: { type: 'string', default: '1000' },
    puts: { type: 'string' },
    sizes: { type: 'string', default: '100,1000,10000' },
    runs: { type: 'string' },
    'get-only': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    'skip-fanout': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').match(/\/\*\*([\s\S]*?)\*\//)?.[1]?.replace(/^ \* ?/gm, '') ?? '');
  process.exit(0);
}

const quick = flags.quick;
const pin = !flags['no-pin'] && commandExists('taskset');
const SERVER_CPU = pin ? 0 : undefined;
const LOAD_CPU = pin ? 1 : undefined;
const shape: PolicyShape = { getOnly: flags['get-only'] };
const PLAN = {
  sizes: flags.sizes.split(',').map(Number),
  runs: Number(flags.runs ?? (quick ? 2 : 5)),
  streams: Number(flags.streams),
  perConn: Number(flags['per-conn']),
  sotwPercent: Number(flags['sotw-percent']),
  destinations: Number(flags.destinations),
  puts: Number(flags.puts ?? (quick ? 3 : 5)),
  roundTimeoutMs: 20_000,
  pauseMs: 500,
};

const children: Child[] = [];
const procs: ChildProcess[] = [];
stopOnExit(() => children);
process.once('exit', () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

const started = performance.now();
const load0 = loadavg()[0] ?? 0;
console.log(`xDS benchmark${quick ? ' (quick)' : ''}: node ${process.version}, ${pin ? 'servers pinned to CPU 0, load generator to CPU 1' : 'no CPU pinning'}`);
if (load0 > 0.5) console.log(`  note: 1-minute load average is ${load0.toFixed(2)} before starting; other work on this machine skews the figures`);

// ---------------------------------------------------------------- 1. snapshot build

interface BuildEntry {
  destinations: number;
  clusters: number;
  resources: number;
  compileMs: number;
  coldMs: { p50: number; p99: number; min: number; max: number; runs: number };
  warmMs: { p50: number; p99: number; min: number; max: number; runs: number };
  warmReEncoded: number[];
  floorJsonStringifyMs: { p50: number; p99: number };
  jsonBytes: number;
  ratioColdToFloor: number;
  ratioWarmToFloor: number;
  memory: { retainedMiB: number; retainedHeapMiB: number; retainedBuffersMiB: number; allocatedMiB: number };
  encodedBytes: { total: number; routeConfiguration: number; clusterAvg: number };
  stagesMs: Record<string, number>;
}
interface BuildResult {
  firstPublishMs: number;
  runs: number;
  results: BuildEntry[];
}

function tsNode(script: string, args: string[], nodeArgs: string[], cpu: number | undefined, stdio: 'ipc' | 'pipe'): ChildProcess {
  const node = [...nodeArgs, '--import', 'tsx', join(HERE, script), ...args];
  const [cmd, argv] = cpu === undefined ? [process.execPath, node] : ['taskset', ['-c', String(cpu), process.execPath, ...node]];
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: stdio === 'ipc' ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'] });
  procs.push(child);
  return child;
}

async function runBuild(): Promise<BuildResult> {
  console.log(`\n1. Snapshot build (PolicyPublisher.publish): ${PLAN.sizes.join(', ')} destinations, ${PLAN.runs} runs each`);
  const child = tsNode('build.ts', ['--sizes', PLAN.sizes.join(','), '--runs', String(PLAN.runs), ...(shape.getOnly ? ['--get-only'] : [])], ['--expose-gc'], SERVER_CPU, 'pipe');
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`build.ts failed (exit ${code})\n${out}`);
  return JSON.parse(line.slice('RESULT '.length)) as BuildResult;
}

function printBuild(b: BuildResult): void {
  console.log(`   first publish in a process (loads the Envoy protos, builds checker plans): ${b.firstPublishMs.toFixed(0)} ms (not counted)`);
  console.log('   dest.  clusters  cold p50/p99 ms    warm p50/p99 ms   floor ms  cold/floor  warm/floor  retained MiB  allocated MiB  compile ms');
  for (const e of b.results) {
    console.log(
      `   ${String(e.destinations).padStart(5)}  ${String(e.clusters).padStart(8)}  ${`${e.coldMs.p50.toFixed(1)} / ${e.coldMs.p99.toFixed(1)}`.padStart(15)}  ` +
        `${`${e.warmMs.p50.toFixed(1)} / ${e.warmMs.p99.toFixed(1)}`.padStart(15)}  ${e.floorJsonStringifyMs.p50.toFixed(1).padStart(8)}  ` +
        `${`${e.ratioColdToFloor}x`.padStart(10)}  ${`${e.ratioWarmToFloor}x`.padStart(10)}  ${e.memory.retainedMiB.toFixed(1).padStart(12)}  ` +
        `${e.memory.allocatedMiB.toFixed(1).padStart(13)}  ${e.compileMs.toFixed(0).padStart(10)}`,
    );
  }
  console.log('   floor = JSON.stringify of the same resource JSON (buildResources output), same process and run.');
  console.log('   warm = publish after one destination was added or removed (the memo re-encodes only changed resources).');
  console.log('   compile = buildPolicy(text) (YAML + schema + compile), once; the PUT path pays it too, the build figure does not.');
  const big = b.results[b.results.length - 1];
  if (big) {
    console.log(`   where the time goes at ${big.destinations} destinations (each stage alone, p50 ms):`);
    for (const [k, v] of Object.entries(big.stagesMs)) console.log(`     ${v.toFixed(1).padStart(8)}  ${k}`);
  }
  const tenK = b.results.find((e) => e.destinations === 10_000);
  if (tenK) {
    const ok = tenK.coldMs.p50 < TARGET_BUILD_MS;
    console.log(`   target 10,000 destinations < ${TARGET_BUILD_MS} ms: cold p50 ${tenK.coldMs.p50.toFixed(0)} ms ${ok ? 'MET' : 'MISSED'}; warm p50 ${tenK.warmMs.p50.toFixed(0)} ms ${tenK.warmMs.p50 < TARGET_BUILD_MS ? 'MET' : 'MISSED'}`);
  }
}

// ---------------------------------------------------------------- 2. fan-out

class Envoys {
  private readonly child: ChildProcess;
  private pending: { resolve: (m: unknown) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.child = tsNode('envoys.ts', [], [], LOAD_CPU, 'ipc');
    this.child.on('message', (m: { cmd: string; message?: string }) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (m.cmd === 'error') p.reject(new Error(`envoys.ts: ${m.message}`));
      else p.resolve(m);
    });
    this.child.once('exit', (code) => this.pending?.reject(new Error(`envoys.ts exited (${code})`)));
  }

  send<T>(cmd: Command): Promise<T> {
    if (this.pending) throw new Error('one command at a time');
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (m: unknown) => void, reject };
      this.child.send(cmd);
    });
  }

  async stop(): Promise<void> {
    await this.send({ cmd: 'close' });
    this.child.disconnect();
    await new Promise((r) => (this.child.exitCode === null ? this.child.once('exit', r) : r(null)));
  }
}

/** utime + stime of a process in ms, from /proc/<pid>/stat (10 ms resolution). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function memKiB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(s.match(/^VmRSS:\s+(\d+)/m)?.[1]), hwm: Number(s.match(/^VmHWM:\s+(\d+)/m)?.[1]) };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/**
 * Where Tollgate's memory is, from its own default Node metrics (GET /metrics): the JS heap in use and memory outside
 * it (Buffers: encoded resources, grpc-js framed copies). NaN when not exposed.
 */
async function heapMiB(t: Tollgate): Promise<{ heapUsed: number; external: number }> {
  try {
    const text = await (await fetch(`${t.admin}/metrics`)).text();
    const metric = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1]) / 2 ** 20;
    return { heapUsed: round(metric('nodejs_heap_size_used_bytes'), 1), external: round(metric('nodejs_external_memory_bytes'), 1) };
  } catch {
    return { heapUsed: Number.NaN, external: Number.NaN };
  }
}

/** Seconds Tollgate has spent building xDS snapshots so far (tollgate_xds_snapshot_build_duration_seconds_sum). */
async function buildSeconds(t: Tollgate): Promise<number> {
  try {
    const text = await (await fetch(`${t.admin}/metrics`)).text();
    return Number(text.match(/^tollgate_xds_snapshot_build_duration_seconds_sum(?:\{[^}]*\})? (\S+)/m)?.[1]);
  } catch {
    return Number.NaN;
  }
}

interface RoundOut {
  version: string;
  requestMs: number;
  done: number;
  firstResponseMs: number;
  latencyMs: Summary;
  allAckedMs: number;
  serverCpuMs: number;
  clientCpuMs: number;
  clientEventLoopUtilization: number;
  rssMiB?: number;
  /** Of the PUT → first response time, what Tollgate spent building the xDS snapshot (its own histogram). */
  snapshotBuildMs?: number;
}

function roundOut(r: Round, serverCpu: number, rssMiB?: number): RoundOut {
  const finished = r.latencies.filter((x) => Number.isFinite(x));
  const lat = summarize(finished);
  return {
    version: r.version,
    requestMs: round(r.requestMs),
    done: r.done,
    firstResponseMs: round(r.firstResponseMs),
    latencyMs: roundSummary(lat),
    allAckedMs: r.done === r.latencies.length ? round(lat.max) : Number.NaN,
    serverCpuMs: serverCpu,
    clientCpuMs: round(r.clientCpuMs),
    clientEventLoopUtilization: round(r.clientEventLoopUtilization),
    ...(rssMiB !== undefined ? { rssMiB } : {}),
  };
}

function roundSummary(s: Summary): Summary {
  return { count: s.count, min: round(s.min), mean: round(s.mean), p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), p999: round(s.p999), max: round(s.max) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (kib: number) => round(kib / 1024, 1);

interface Tollgate {
  child: Child;
  admin: string;
  grpcAddress: string;
}

async function startTollgate(dir: string, nodeArgs: string[] = []): Promise<Tollgate> {
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, policyText(PLAN.destinations, shape));
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(dir, 'data-'));
  const child = new Child(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'tollgate.js'), 'serve', '--policy', policyFile, '--grpc', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`, '--data', data], {
    cwd: ROOT,
    stdout: 'ignore',
    cpu: SERVER_CPU,
  });
  children.push(child);
  const admin = `http://127.0.0.1:${adminPort}`;
  await child.waitForHttp(`${admin}/readyz`, 60_000);
  return { child, admin, grpcAddress: `127.0.0.1:${grpcPort}` };
}

interface PutRounds {
  rounds: RoundOut[];
  latencies: number[];
  last: Round | undefined;
  /** Monotonic-clock windows (µs) of the counted rounds, for the profile. */
  windows: Array<[number, number]>;
  allAckedByKind: { sotw: number[]; delta: number[] };
}

/** One warm-up PUT (not counted), then `puts` PUTs, each adding one destination to the policy. */
async function putRounds(envoys: Envoys, t: Tollgate, puts: number, print: boolean): Promise<PutRounds> {
  const out: PutRounds = { rounds: [], latencies: [], last: undefined, windows: [], allAckedByKind: { sotw: [], delta: [] } };
  for (let k = 0; k <= puts; k++) {
    const build0 = await buildSeconds(t);
    const cpu0 = cpuMs(t.child.pid);
    const w0 = nowUs();
    const r = await envoys.send<Round>({ cmd: 'put', url: `${t.admin}/v1/policy`, body: policyText(PLAN.destinations + k + 1, shape), timeoutMs: PLAN.roundTimeoutMs });
    const w1 = nowUs();
    const serverCpu = cpuMs(t.child.pid) - cpu0;
    const o = roundOut(r, serverCpu, mib(memKiB(t.child.pid).rss));
    o.snapshotBuildMs = round(((await buildSeconds(t)) - build0) * 1000, 1);
    if (print) {
      console.log(
        `   ${(k === 0 ? 'warm-up' : `PUT ${k}`).padEnd(7)} v${o.version}: PUT ${o.requestMs.toFixed(0)} ms, first response ${o.firstResponseMs.toFixed(0)} ms (snapshot build ${o.snapshotBuildMs} ms of it), ACKs p50 ${o.latencyMs.p50.toFixed(0)} / p99 ${o.latencyMs.p99.toFixed(0)} / all ${Number.isNaN(o.allAckedMs) ? `${o.done}/${r.latencies.length} only` : `${o.allAckedMs.toFixed(0)} ms`}; ` +
          `tollgate CPU ${serverCpu} ms, RSS ${o.rssMiB} MiB; client CPU ${o.clientCpuMs.toFixed(0)} ms (loop ${(o.clientEventLoopUtilization * 100).toFixed(0)}% busy)`,
      );
      if (r.errors > 0) console.log(`   warning: ${r.errors} stream errors so far`);
    }
    if (k > 0) {
      out.rounds.push(o);
      // When the last stream of each kind ACKed: SotW resends every cluster and the route table, delta (VHDS) the change.
      const last = { sotw: 0, delta: 0 };
      r.latencies.forEach((x, i) => {
        const kind = kindOf(i, PLAN.sotwPercent);
        last[kind] = Math.max(last[kind], Number.isFinite(x) ? x : Number.POSITIVE_INFINITY);
      });
      out.allAckedByKind.sotw.push(last.sotw);
      out.allAckedByKind.delta.push(last.delta);
      for (const x of r.latencies) out.latencies.push(Number.isFinite(x) ? x : Number.POSITIVE_INFINITY);
      out.last = r;
      out.windows.push([w0, w1]);
    }
    await sleep(PLAN.pauseMs);
  }
  return out;
}

async function runFanout(envoys: Envoys, dir: string) {
  const { streams, perConn, destinations, puts } = PLAN;
  const sotwStreams = streamsOf('sotw');
  console.log(`\n2. Policy change → ${streams} ADS streams (${sotwStreams} SotW + ${streams - sotwStreams} delta, ${perConn} stream(s) per HTTP/2 connection), ${destinations} destinations, ${puts} PUTs`);
  // --- Tollgate
  const tollgate = await startTollgate(dir);
  const rssIdle = memKiB(tollgate.child.pid);
  const heapIdle = await heapMiB(tollgate);
  console.log(`   tollgate up (pid ${tollgate.child.pid}), RSS ${mib(rssIdle.rss)} MiB before any stream (heap ${heapIdle.heapUsed}, external ${heapIdle.external} MiB)`);
  const conn = await envoys.send<Connected>({ cmd: 'connect', target: 'xds', address: tollgate.grpcAddress, streams, perConn, sotwPercent: PLAN.sotwPercent, timeoutMs: 180_000 });
  await sleep(PLAN.pauseMs);
  const rssConnected = memKiB(tollgate.child.pid);
  const heapConnected = await heapMiB(tollgate);
  console.log(
    `   ${conn.streams} streams on ${conn.connections} connections synced (CDS, LDS, RDS ACKed) in ${conn.ms.toFixed(0)} ms; tollgate RSS ${mib(rssConnected.rss)} MiB (peak ${mib(rssConnected.hwm)}; heap ${heapConnected.heapUsed}, external ${heapConnected.external} MiB)`,
  );

  const measured = await putRounds(envoys, tollgate, puts, true);
  const rounds = measured.rounds;
  const rssAfter = memKiB(tollgate.child.pid);
  const heapAfter = await heapMiB(tollgate);

  // Server's own view: every node ACKed the last version for clusters and routes?
  const nodes = (await (await fetch(`${tollgate.admin}/v1/xds/nodes`)).json()) as { snapshot_version: string; nodes: Array<{ kind: string; types: Array<{ typeUrl: string; lastAckedVersion?: string; lastNack?: unknown }> }> };
  const lastVersion = rounds[rounds.length - 1]?.version ?? '';
  const serverView = {
    snapshotVersion: nodes.snapshot_version,
    nodes: nodes.nodes.length,
    sotw: nodes.nodes.filter((n) => n.kind === 'sotw').length,
    delta: nodes.nodes.filter((n) => n.kind === 'delta').length,
    // Delta nodes are Envoys on VHDS: the change reaches them as a VirtualHost, their route configuration is unchanged.
    ackedLastVersion: nodes.nodes.filter((n) => ['Cluster', n.kind === 'delta' ? 'VirtualHost' : 'RouteConfiguration'].every((t) => n.types.find((x) => x.typeUrl.endsWith(`.${t}`))?.lastAckedVersion === lastVersion)).length,
    nacks: nodes.nodes.filter((n) => n.types.some((t) => t.lastNack)).length,
  };
  console.log(`   /v1/xds/nodes: ${serverView.nodes} nodes (${serverView.sotw} SotW, ${serverView.delta} delta), ${serverView.ackedLastVersion} ACKed v${lastVersion} for clusters and routes, ${serverView.nacks} with a NACK`);
  await envoys.send({ cmd: 'close' });
  await tollgate.child.stop(15_000);

  // --- the floor: same streams on a no-op server
  const [noopGrpc, noopHttp] = [await freePort(), await freePort()];
  const noop = new Child(process.execPath, ['--import', 'tsx', join(HERE, 'noop-server.ts'), '--grpc', String(noopGrpc), '--http', String(noopHttp)], { cwd: ROOT, cpu: SERVER_CPU });
  children.push(noop);
  await noop.waitForLine(/noop listening/, 30_000);
  const noopConn = await envoys.send<Connected>({ cmd: 'connect', target: 'noop', address: `127.0.0.1:${noopGrpc}`, streams, perConn, sotwPercent: PLAN.sotwPercent, timeoutMs: 60_000 });
  await sleep(PLAN.pauseMs);
  console.log(`   floor: ${noopConn.streams} streams on a no-op bidi server (same grpc-js stack, CPU and connection layout), open in ${noopConn.ms.toFixed(0)} ms`);
  const tiny = await noopRounds(envoys, noop, `http://127.0.0.1:${noopHttp}/push`, 'push', puts);
  // The same bytes per stream as Tollgate sent for one change (all its responses for the version, as one message).
  const bytes = bytesPerStream(measured.last);
  console.log(`   payload floor: the same no-op server writes one pre-built message per stream of the size Tollgate sent for a change (SotW ${bytes.sotw} B, delta ${bytes.delta} B)`);
  const payload = await noopRounds(envoys, noop, `http://127.0.0.1:${noopHttp}/push?sotw=${bytes.sotw}&delta=${bytes.delta}`, 'bytes', puts);
  await envoys.send({ cmd: 'close' });
  await noop.stop();

  const allAcked = summarize(rounds.map((r) => (Number.isNaN(r.allAckedMs) ? Number.POSITIVE_INFINITY : r.allAckedMs)));
  const perStream = summarize(measured.latencies);
  return {
    streams,
    perConnection: perConn,
    sotwStreams,
    deltaStreams: streams - sotwStreams,
    connections: conn.connections,
    destinations,
    clusters: expectedClusters(destinations, shape),
    puts,
    initialSyncMs: round(conn.ms),
    rounds,
    perStreamAckMs: roundSummary(perStream),
    allAckedMs: roundSummary(allAcked),
    allAckedMsByKind: { sotw: roundSummary(summarize(measured.allAckedByKind.sotw)), delta: roundSummary(summarize(measured.allAckedByKind.delta)) },
    putResponseMs: roundSummary(summarize(rounds.map((r) => r.requestMs))),
    serverCpuMsPerPut: roundSummary(summarize(rounds.map((r) => r.serverCpuMs))),
    tollgateRssMiB: { idle: mib(rssIdle.rss), connected: mib(rssConnected.rss), peakWhileSyncing: mib(rssConnected.hwm), afterPuts: mib(rssAfter.rss), peak: mib(rssAfter.hwm) },
    tollgateHeapMiB: { idle: heapIdle, connected: heapConnected, afterPuts: heapAfter },
    serverView,
    floor: tiny,
    ratioAllAckedToFloor: round(allAcked.p50 / tiny.allAckedMs.p50, 1),
    ratioP50ToFloor: round(perStream.p50 / tiny.perStreamAckMs.p50, 1),
    payloadFloor: { bytesPerStream: bytes, ...payload },
    ratioAllAckedToPayloadFloor: round(allAcked.p50 / payload.allAckedMs.p50, 1),
    lastRound: measured.last,
  };
}

interface NoopRounds {
  rounds: RoundOut[];
  perStreamAckMs: Summary;
  allAckedMs: Summary;
}

async function noopRounds(envoys: Envoys, noop: Child, url: string, label: string, puts: number): Promise<NoopRounds> {
  const rounds: RoundOut[] = [];
  const all: number[] = [];
  for (let k = 0; k <= puts; k++) {
    const cpu0 = cpuMs(noop.pid);
    const r = await envoys.send<Round>({ cmd: 'trigger', url, timeoutMs: PLAN.roundTimeoutMs });
    const out = roundOut(r, cpuMs(noop.pid) - cpu0);
    console.log(
      `   ${(k === 0 ? 'warm-up' : `${label} ${k}`).padEnd(7)}: POST ${out.requestMs.toFixed(0)} ms, ACKs p50 ${out.latencyMs.p50.toFixed(0)} / p99 ${out.latencyMs.p99.toFixed(0)} / all ${Number.isNaN(out.allAckedMs) ? `${out.done}/${r.latencies.length} only` : `${out.allAckedMs.toFixed(0)} ms`}; server CPU ${out.serverCpuMs} ms; client CPU ${out.clientCpuMs.toFixed(0)} ms`,
    );
    if (k > 0) {
      rounds.push(out);
      for (const x of r.latencies) all.push(Number.isFinite(x) ? x : Number.POSITIVE_INFINITY);
    }
    await sleep(PLAN.pauseMs);
  }
  const allAcked = summarize(rounds.map((r) => (Number.isNaN(r.allAckedMs) ? Number.POSITIVE_INFINITY : r.allAckedMs)));
  return { rounds, perStreamAckMs: roundSummary(summarize(all)), allAckedMs: roundSummary(allAcked) };
}

/** Bytes one stream of each kind received for a change: the sum of its responses carrying the version. */
function bytesPerStream(r: Round | undefined): { sotw: number; delta: number } {
  const sum = (kind: 'sotw' | 'delta') =>
    Object.values(r?.counts[kind] ?? {}).reduce((s, t) => s + Math.round((t.bytesPerResponse * t.responses) / Math.max(1, streamsOf(kind))), 0);
  return { sotw: sum('sotw'), delta: sum('delta') };
}

function streamsOf(kind: 'sotw' | 'delta'): number {
  let n = 0;
  for (let i = 0; i < PLAN.streams; i++) if (kindOf(i, PLAN.sotwPercent) === kind) n++;
  return n;
}

/** A separate Tollgate under `node --cpu-prof`: where its CPU time goes during the PUT rounds only. */
async function runProfile(envoys: Envoys, dir: string): Promise<WindowedProfile> {
  const profDir = mkdtempSync(join(dir, 'prof-'));
  const puts = Math.min(PLAN.puts, 3);
  console.log(`   a second Tollgate under node --cpu-prof, ${PLAN.streams} streams, ${puts} PUTs (samples inside the PUT rounds only)`);
  const tollgate = await startTollgate(dir, ['--cpu-prof', '--cpu-prof-dir', profDir]);
  await envoys.send<Connected>({ cmd: 'connect', target: 'xds', address: tollgate.grpcAddress, streams: PLAN.streams, perConn: PLAN.perConn, sotwPercent: PLAN.sotwPercent, timeoutMs: 180_000 });
  await sleep(PLAN.pauseMs);
  const r = await putRounds(envoys, tollgate, puts, false);
  await envoys.send({ cmd: 'close' });
  const exit = await tollgate.child.stop(30_000);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written (tollgate exited ${exit.code ?? exit.signal})`);
  const prof = summarizeWindows(join(profDir, file), r.windows, ROOT);
  console.log(`   busy ${prof.busyMs.toFixed(0)} ms of ${prof.windowMs.toFixed(0)} ms in the rounds (all-ACKed p50 under the profiler ${summarize(r.rounds.map((x) => x.allAckedMs)).p50.toFixed(0)} ms). Self time by file:`);
  for (const f of prof.files.slice(0, 10)) console.log(`     ${f.selfMs.toFixed(0).padStart(6)} ms ${f.selfPct.toFixed(1).padStart(5)}%  ${f.file}`);
  console.log('   hottest functions (self):');
  for (const f of prof.self.slice(0, 10)) console.log(`     ${f.selfMs.toFixed(0).padStart(6)} ms ${f.selfPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
  console.log('   Tollgate code by inclusive time:');
  for (const f of prof.tollgate.slice(0, 12)) console.log(`     ${f.totalMs.toFixed(0).padStart(6)} ms ${f.totalPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
  return prof;
}

// ---------------------------------------------------------------- main

const build = flags['skip-build'] ? undefined : await runBuild();
if (build) printBuild(build);

type Fanout = Awaited<ReturnType<typeof runFanout>>;

function printFanout(fan: Fanout): void {
  console.log(`   per-stream time to ACK (all ${fan.puts} PUTs): p50 ${fan.perStreamAckMs.p50.toFixed(0)} ms, p99 ${fan.perStreamAckMs.p99.toFixed(0)} ms, max ${fan.perStreamAckMs.max.toFixed(0)} ms`);
  console.log(`   all ${fan.streams} ACKed: p50 ${fan.allAckedMs.p50.toFixed(0)} ms, max ${fan.allAckedMs.max.toFixed(0)} ms over ${fan.puts} PUTs (PUT response p50 ${fan.putResponseMs.p50.toFixed(0)} ms; Tollgate CPU per PUT p50 ${fan.serverCpuMsPerPut.p50.toFixed(0)} ms)`);
  console.log(`   all ${fan.deltaStreams} delta (VHDS) streams ACKed: p50 ${fan.allAckedMsByKind.delta.p50.toFixed(0)} ms, max ${fan.allAckedMsByKind.delta.max.toFixed(0)} ms; all ${fan.sotwStreams} SotW: p50 ${fan.allAckedMsByKind.sotw.p50.toFixed(0)} ms, max ${fan.allAckedMsByKind.sotw.max.toFixed(0)} ms`);
  console.log(`   floor (no-op server, one tiny message per stream): per-stream p50 ${fan.floor.perStreamAckMs.p50.toFixed(1)} ms, all ACKed p50 ${fan.floor.allAckedMs.p50.toFixed(1)} ms`);
  console.log(`   ratio to floor: all-ACKed ${fan.ratioAllAckedToFloor}x, per-stream p50 ${fan.ratioP50ToFloor}x`);
  console.log(`   payload floor (same bytes per stream, pre-built, one message): all ACKed p50 ${fan.payloadFloor.allAckedMs.p50.toFixed(0)} ms; Tollgate is ${fan.ratioAllAckedToPayloadFloor}x that`);
  console.log(`   tollgate RSS: ${fan.tollgateRssMiB.idle} MiB idle, ${fan.tollgateRssMiB.connected} MiB with ${fan.streams} streams, ${fan.tollgateRssMiB.afterPuts} MiB after the PUTs (peak ${fan.tollgateRssMiB.peak} MiB)`);
  const ok = fan.allAckedMs.max < TARGET_ALL_ACK_MS;
  console.log(`   target all ${fan.streams} streams ACK within ${TARGET_ALL_ACK_MS} ms of the PUT: worst ${fan.allAckedMs.max.toFixed(0)} ms ${ok ? 'MET' : 'MISSED'}`);
}

/** 3. What one change sent per stream, delta vs SotW. */
function deltaEfficiencyOf(r: Round): Record<string, unknown> {
  const show = (c: TypeCounts | undefined) => (c ? `${c.resourcesMin === c.resourcesMax ? c.resourcesMax : `${c.resourcesMin}-${c.resourcesMax}`} resources (${c.bytesPerResponse} B) in ${c.responses} responses` : 'nothing');
  console.log(`\n3. Resources sent per stream for one change (one destination added, v${r.version})`);
  for (const kind of ['delta', 'sotw'] as const) {
    const c = r.counts[kind];
    if (Object.keys(c).length === 0) continue;
    console.log(`   ${kind.padEnd(5)}: ${Object.keys(c).sort().map((t) => `${t.toUpperCase()} ${show(c[t])}`).join('; ')}`);
  }
  console.log(`   a delta stream received: ${Object.entries(r.deltaSample).map(([t, names]) => `${t.toUpperCase()} [${names.join(', ')}]`).join('; ')}`);
  const expectedNew = shape.getOnly ? 1 : 2;
  const deltaCds = r.counts.delta.cds;
  // Delta streams are Envoys: VHDS, so the change is the new clusters and one VirtualHost, and no route configuration.
  const onlyChanged = deltaCds !== undefined && deltaCds.resourcesMin === expectedNew && deltaCds.resourcesMax === expectedNew && (r.counts.delta.vhds?.resourcesMax ?? 0) === 1 && !r.counts.delta.rds && !r.counts.delta.lds;
  console.log(`   delta pushes only the changed resources (${expectedNew} new clusters + one VHDS virtual host): ${onlyChanged ? 'YES' : 'NO'}`);
  const sotwBytes = bytesPerStream(r);
  console.log(`   bytes per stream for the change: delta ${sotwBytes.delta} B (goal <= 20 KB: ${sotwBytes.delta <= 20_000 ? 'MET' : 'MISSED'}), SotW ${sotwBytes.sotw} B (SotW must resend every cluster and the whole route configuration)`);
  return { version: r.version, expectedNewClusters: expectedNew, onlyChanged, bytesPerStream: sotwBytes, counts: r.counts, deltaSample: r.deltaSample };
}

let fan: Fanout | undefined;
let profile: WindowedProfile | undefined;
let deltaEfficiency: Record<string, unknown> | undefined;
if (!flags['skip-fanout']) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-xds-bench-'));
  const envoys = new Envoys();
  try {
    fan = await runFanout(envoys, dir);
    printFanout(fan);
    if (fan.lastRound) deltaEfficiency = deltaEfficiencyOf(fan.lastRound);
    const missed = !(fan.allAckedMs.max < TARGET_ALL_ACK_MS);
    if (flags.profile || (missed && !flags['no-profile'])) {
      console.log('\nWhere Tollgate spends the fan-out time');
      profile = await runProfile(envoys, dir);
    }
  } finally {
    await envoys.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const totalS = (performance.now() - started) / 1000;
const fanOut = fan ? (({ lastRound: _drop, ...rest }) => rest)(fan) : undefined;
// The default (1,000 destinations) is bench/results/xds.json; other sizes get their own file.
const path = writeResult(flags['skip-fanout'] ? 'xds-build' : PLAN.destinations === 1000 ? 'xds' : `xds-${PLAN.destinations}-destinations`, {
  command: `npx tsx bench/xds/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
  quick,
  pinned: pin,
  loadAverageAtStart: round(load0),
  targets: { build10kMs: TARGET_BUILD_MS, allAckMs: TARGET_ALL_ACK_MS },
  policyShape: shape.getOnly ? 'one allow rule per destination with methods: [GET] (1 cluster each)' : 'one allow rule per destination, no method/path restriction (TLS cluster + CONNECT tunnel cluster each)',
  ...(build ? { build: { floorDescription: 'JSON.stringify of the same resource JSON (buildResources output), same process', ...build } } : {}),
  ...(fanOut ? { fanout: { floorDescription: 'same streams and connections on a no-op grpc-js bidi server pushing one tiny (7-byte) message per stream; payloadFloor: the same server pushing, per stream, one pre-built message of the bytes Tollgate sent for the change', ...fanOut } } : {}),
  ...(deltaEfficiency ? { deltaEfficiency } : {}),
  ...(profile ? { tollgateProfileDuringPuts: profile } : {}),
  durationS: round(totalS, 1),
});
console.log(`\nwrote ${path} (${totalS.toFixed(0)} s)`);
