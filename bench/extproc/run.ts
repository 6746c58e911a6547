/**
 * End-to-end ext_proc benchmark (issue 4, "Quality and speed"): requests/s and latency of Tollgate's
 * `ExternalProcessor/Process` scrubbing realistic JSON order bodies (an email, a phone number and a card
 * number in each), against a no-op ext_proc server on the same gRPC stack (the floor).
 *
 *   npx tsx bench/extproc/run.ts [--quick] [--profile | --no-profile] [--no-pin] [--clients N] [--conns N]
 *                                [--concurrency 16,64] [--fixed-rate R] [--wait-idle S]
 *
 * Per server (own process, pinned to CPU 0; load generators pinned to CPU 1):
 *   1. verification: one request per body size through the Envoy ext_proc driver (test/drivers), as Envoy
 *      with allow_mode_override plays it: Tollgate must switch to BUFFERED, redact the email and phone,
 *      mask the card and fix content-length; the floor must pass the body through untouched. A decoded
 *      reference exchange on the wire gives each reply's kind and exact size, which the load generator
 *      then checks on every reply.
 *   2. reset probe: 1,500 streams ended with RST_STREAM, as Envoy ends them by default (see wire.ts).
 *   3. peak: closed loop at each concurrency (streams in flight), 4 KB bodies; peak = the best.
 *   4. latency: open loop (paced arrivals) at half of the FLOOR's peak rate, 4 KB bodies; if Tollgate
 *      cannot sustain that, also at half its own peak.
 *   5. 1 KB and 64 KB bodies at a fixed moderate rate (open loop).
 * Then, if Tollgate's p99 at half the floor's peak is over 3 ms (or with --profile), a separate run under
 * `node --cpu-prof` at the same rate shows where the server's time goes.
 *
 * Writes bench/results/extproc.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inclusiveUnder, summarizeCpuProfile, type HotFunction, type ProfileSummary } from '../lib/cpuprofile.js';
import { Child, freePort, pinned, readRssKiB, run, stopOnExit } from '../lib/proc.js';
import { systemBusy, writeResult } from '../lib/results.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { EnvoyExtProcDriver } from '../../test/drivers/envoy-ext-proc-driver.js';
import { orderBody, PII } from './bodies.js';
import { benchPolicyYaml } from './policy.js';
import type { ClientResult } from './client.js';
import { buildExchange, connect, exchange, referenceExchange, type Exchange, type Expectation } from './wire.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENT = join(ROOT, 'bench/extproc/client.ts');
const TARGET_P99_MS = 3;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean' },
    'no-profile': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    clients: { type: 'string', default: '1' },
    conns: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16,64' },
    'fixed-rate': { type: 'string', default: '200' },
    /** Before each server's runs, wait up to this many seconds for the machine to be idle (< 10% busy). */
    'wait-idle': { type: 'string', default: '60' },
    /** Re-run a measurement (after waiting for idle) when other processes used over 15% of a core during it. */
    retries: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('Usage: npx tsx bench/extproc/run.ts [--quick] [--profile | --no-profile] [--no-pin] [--clients N] [--conns N] [--concurrency 16,64] [--fixed-rate R] [--wait-idle S]');
  process.exit(0);
}

const quick = flags.quick;
const pin = !flags['no-pin'];
const SERVER_CPU = pin ? 0 : undefined;
const LOAD_CPU = pin ? 1 : undefined;
const CLIENT_PROCS = Number(flags.clients);
const CONNS = Number(flags.conns);
const CONCURRENCY = flags.concurrency.split(',').map(Number);
const FIXED_RATE = Number(flags['fixed-rate']);
const SIZES = { '1KB': 1024, '4KB': 4096, '64KB': 65536 } as const;
type SizeName = keyof typeof SIZES;
const PLAN = {
  peak: { warmupS: 1, durationS: quick ? 2 : 4 },
  latency: { warmupS: 1, durationS: quick ? 4 : 8 },
  fixed: { warmupS: 1, durationS: quick ? 2 : 4 },
  profileS: quick ? 4 : 8,
  resetProbeStreams: 1500,
};

const children: Child[] = [];
const clientProcs = new Set<ChildProcess>();
stopOnExit(() => children);
process.once('exit', () => {
  for (const p of clientProcs) if (p.exitCode === null) p.kill('SIGKILL');
});
const work = mkdtempSync(join(tmpdir(), 'tollgate-extproc-bench-'));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function log(msg: string): void {
  console.log(`[bench] ${msg}`);
}

/** Busy CPU seconds of the whole machine (all CPUs), from /proc/stat. */
function machineBusySeconds(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** user+system CPU seconds of a process (all threads), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

interface LoadRun {
  label: string;
  mode: 'closed' | 'open';
  body: SizeName;
  concurrency?: number;
  targetRps?: number;
  clientProcs: number;
  connsPerProc: number;
  reqPerSec: number;
  measured: number;
  errors: number;
  errorSamples: string[];
  timedOut: number;
  latencyUs: Summary;
  /** Open loop: scheduled-to-actual start lag in the client (its timer jitter), µs. */
  lagUs?: Summary;
  /** Sum over client processes, % of one core. */
  clientCpuPct: number;
  serverCpuPct: number | undefined;
  /** Server CPU time per request (all requests of the run, warm-up included), µs. */
  serverCpuUsPerReq: number | undefined;
  /** CPU used by other processes on the machine during the run (busy - server - clients), % of one core. */
  otherCpuPct: number | undefined;
  serverRssKiB: number | undefined;
  command: string;
  /** Times this measurement was repeated because other processes skewed it. */
  retries?: number;
}

interface ServerRun {
  name: string;
  command: string;
  startupMs: number;
  verification: Record<SizeName, { bodyModeUsed: string; forwardedBytes: number; changed: boolean; contentLength: string | undefined; replyBytes: [number, number] }>;
  resetProbe: { streams: number; completed: number; error?: string };
  sweep: LoadRun[];
  peak: LoadRun;
  /** 1 KB and 64 KB bodies, closed loop at the sweep's first concurrency. */
  sizePeaks: LoadRun[];
  latency?: LoadRun;
  latencyOwnHalf?: LoadRun;
  fixed: LoadRun[];
  maxRssKiB: number | undefined;
}

interface Server {
  child: Child;
  port: number;
  startupMs: number;
}

const OTHER_CPU_LIMIT_PCT = 15;

/** Waits up to --wait-idle seconds for the machine to be under 10% busy; returns the last reading. */
async function waitIdle(phase: string): Promise<number | undefined> {
  const deadline = Date.now() + Number(flags['wait-idle']) * 1000;
  let busy = await systemBusy(1000);
  while (busy !== undefined && busy > 0.1 && Date.now() < deadline) {
    log(`machine ${Math.round(busy * 100)}% busy (other processes); waiting for it to settle before ${phase}`);
    busy = await systemBusy(2000);
  }
  return busy;
}

/** `load`, repeated (up to --retries times, after waiting for idle) while other processes skew it. */
async function cleanLoad(...args: Parameters<typeof load>): Promise<LoadRun> {
  let r = await load(...args);
  for (let i = 0; i < Number(flags.retries) && (r.otherCpuPct ?? 0) > OTHER_CPU_LIMIT_PCT; i++) {
    await waitIdle(`re-running "${args[2]}"`);
    r = await load(...args);
    r.retries = i + 1;
  }
  return r;
}

/** Starts the load generator processes, lets them go together, merges their results. */
async function load(server: Server, specFile: string, label: string, body: SizeName, o: { concurrency?: number; rate?: number; warmupS: number; durationS: number }): Promise<LoadRun> {
  const procs = CLIENT_PROCS;
  const args = (i: number) => [
    '--import',
    'tsx',
    CLIENT,
    '--port',
    String(server.port),
    '--spec',
    specFile,
    '--conns',
    String(CONNS),
    '--warmup',
    String(o.warmupS),
    '--duration',
    String(o.durationS),
    ...(o.concurrency !== undefined ? ['--concurrency', String(Math.floor(o.concurrency / procs) + (i < o.concurrency % procs ? 1 : 0))] : ['--rate', String(o.rate! / procs)]),
  ];
  const started: Array<{ proc: ChildProcess; lines: string[]; waiters: Array<() => void>; stderr: string; exited: boolean }> = [];
  let command = '';
  for (let i = 0; i < procs; i++) {
    const [cmd, a] = pinned(LOAD_CPU, process.execPath, args(i));
    command = [cmd, ...a].join(' ');
    const proc = spawn(cmd, a, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    clientProcs.add(proc);
    const entry = { proc, lines: [] as string[], waiters: [] as Array<() => void>, stderr: '', exited: false };
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      entry.lines.push(l);
      for (const w of entry.waiters.splice(0)) w();
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (entry.stderr = (entry.stderr + d).slice(-4000)));
    proc.once('exit', () => {
      entry.exited = true;
      clientProcs.delete(proc);
      for (const w of entry.waiters.splice(0)) w();
    });
    started.push(entry);
  }
  const waitLine = async (e: (typeof started)[number], re: RegExp): Promise<string> => {
    for (;;) {
      const hit = e.lines.find((l) => re.test(l));
      if (hit) return hit;
      if (e.exited) throw new Error(`load generator exited before printing ${re}:\n${e.stderr}`);
      await new Promise<void>((r) => e.waiters.push(r));
    }
  };
  await Promise.all(started.map((e) => waitLine(e, /^ready$/)));
  const cpu0 = cpuSeconds(server.child.pid);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  for (const e of started) e.proc.stdin!.write('go\n');
  const results = (await Promise.all(started.map((e) => waitLine(e, /^result /)))).map((l) => JSON.parse(l.slice('result '.length)) as ClientResult);
  const cpu1 = cpuSeconds(server.child.pid);
  const busy1 = machineBusySeconds();
  const wallS = (performance.now() - t0) / 1000;
  const rss = server.child.rssKiB();
  const lat = results.flatMap((r) => r.latUs);
  const lag = results.flatMap((r) => r.lagUs);
  const serverCpuPct = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) / wallS) * 100 : undefined;
  const clientCpuPct = results.reduce((s, r) => s + (r.cpuPct * r.wallS) / wallS, 0);
  const machinePct = busy0 !== undefined && busy1 !== undefined ? ((busy1 - busy0) / wallS) * 100 : undefined;
  const loadRun: LoadRun = {
    label,
    mode: o.concurrency !== undefined ? 'closed' : 'open',
    body,
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : { targetRps: o.rate }),
    clientProcs: procs,
    connsPerProc: CONNS,
    reqPerSec: results.reduce((s, r) => s + r.reqPerSec, 0),
    measured: results.reduce((s, r) => s + r.measured, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
    timedOut: results.reduce((s, r) => s + r.timedOut, 0),
    latencyUs: summarize(lat),
    ...(o.rate !== undefined ? { lagUs: summarize(lag) } : {}),
    clientCpuPct,
    serverCpuPct,
    serverCpuUsPerReq: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / Math.max(1, results.reduce((s, r) => s + r.completed, 0)) : undefined,
    otherCpuPct: machinePct !== undefined && serverCpuPct !== undefined ? Math.max(0, machinePct - serverCpuPct - clientCpuPct) : undefined,
    serverRssKiB: rss,
    command,
  };
  const l = loadRun.latencyUs;
  log(
    `  ${label}: ${round(loadRun.reqPerSec, 0)} req/s, p50 ${round(l.p50 / 1000, 2)} ms, p99 ${round(l.p99 / 1000, 2)} ms, max ${round(l.max / 1000, 1)} ms` +
      `${loadRun.lagUs ? `, client lag p99 ${round(loadRun.lagUs.p99 / 1000, 2)} ms` : ''}; CPU server ${round(loadRun.serverCpuPct ?? Number.NaN, 0)}% (${round(loadRun.serverCpuUsPerReq ?? Number.NaN, 0)} µs/request), client ${round(loadRun.clientCpuPct, 0)}%, other processes ${round(loadRun.otherCpuPct ?? Number.NaN, 0)}%` +
      `${loadRun.errors || loadRun.timedOut ? `; ${loadRun.errors} errors, ${loadRun.timedOut} timed out ${JSON.stringify(loadRun.errorSamples)}` : ''}`,
  );
  if ((loadRun.otherCpuPct ?? 0) > OTHER_CPU_LIMIT_PCT) log(`  WARNING: other processes used ${round(loadRun.otherCpuPct!, 0)}% of a core during this run; its figures are skewed`);
  if (loadRun.errors > 0) throw new Error(`${label}: ${loadRun.errors} failed requests: ${loadRun.errorSamples.join('; ')}`);
  return loadRun;
}

async function main(): Promise<void> {
  log(`node ${process.version}; workdir ${work}${pin ? '; server on CPU 0, load generators on CPU 1' : ''}; ${CLIENT_PROCS} client process(es) x ${CONNS} HTTP/2 connections`);

  // Policy: the example policy plus a scrub section (explicit actions for what the bodies carry).
  const policyFile = join(work, 'policy.yaml');
  const policyYaml = benchPolicyYaml(ROOT);
  writeFileSync(policyFile, policyYaml);
  const validated = await run(process.execPath, [join(ROOT, 'bin/tollgate.js'), 'validate', policyFile], { cwd: ROOT });
  if (validated.code !== 0) throw new Error(`bench policy is invalid:\n${validated.stdout}${validated.stderr}`);
  log(`policy: ${validated.stdout.trim()}`);

  const exchanges = Object.fromEntries(Object.entries(SIZES).map(([name, n]) => [name, buildExchange(name, Buffer.from(orderBody(n)))])) as Record<SizeName, Exchange>;
  for (const ex of Object.values(exchanges)) log(`body ${ex.name}: ${ex.body.length} bytes JSON order; request_headers message ${ex.headersFrame.length - 5} bytes, request_body ${ex.bodyFrame.length - 5} bytes`);

  const startNoop = async (): Promise<Server> => {
    const t0 = Date.now();
    const child = new Child(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/extproc/noop-server.ts')], { cwd: ROOT, cpu: SERVER_CPU });
    children.push(child);
    const m = await child.waitForLine(/^listening (\d+)$/);
    return { child, port: Number(m[1]), startupMs: Date.now() - t0 };
  };
  const startTollgate =
    (nodeFlags: string[] = []) =>
    async (): Promise<Server> => {
      const [grpcPort, adminPort] = [await freePort(), await freePort()];
      const dataDir = mkdtempSync(join(work, 'data-'));
      const t0 = Date.now();
      const child = new Child(
        process.execPath,
        [...nodeFlags, join(ROOT, 'bin/tollgate.js'), 'serve', '--policy', policyFile, '--demo', '--grpc', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`, '--data', dataDir],
        { cwd: ROOT, cpu: SERVER_CPU, stdout: 'ignore' }, // one audit line per stream, written to /dev/null
      );
      children.push(child);
      await child.waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, 60_000);
      return { child, port: grpcPort, startupMs: Date.now() - t0 };
    };

  const busyBefore: Record<string, number | undefined> = {};
  const checkIdle = async (phase: string) => {
    const busy = await waitIdle(`the ${phase} run`);
    busyBefore[phase] = busy === undefined ? undefined : round(busy, 3);
    if (busy !== undefined && busy > 0.1) log(`WARNING: the machine is ${Math.round(busy * 100)}% busy before the ${phase} run (other processes); figures will be noisy`);
  };

  /** Verification, reset probe and the spec files the load generators replay. */
  const prepare = async (name: string, server: Server, scrubs: boolean) => {
    const verification = {} as ServerRun['verification'];
    const specs = {} as Record<SizeName, string>;
    const driver = new EnvoyExtProcDriver(server.port);
    const session = await connect(server.port);
    try {
      for (const [size, ex] of Object.entries(exchanges) as Array<[SizeName, Exchange]>) {
        const out = await driver.process({ headers: ex.headers, body: [ex.body] }, { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', allowModeOverride: true });
        if (out.result !== 'forwarded' || out.error) throw new Error(`${name} ${size}: ${out.result} ${out.status ?? ''} ${out.error ?? ''}`);
        if (out.bodyModeUsed !== 'BUFFERED') throw new Error(`${name} ${size}: body mode ${out.bodyModeUsed}, expected a BUFFERED mode_override`);
        const text = out.body.toString('utf8');
        const contentLength = out.headers.find(([k]) => k === 'content-length')?.[1];
        if (scrubs) {
          const leaked = [PII.email, PII.phone, PII.card].filter((v) => text.includes(v));
          if (leaked.length) throw new Error(`${name} ${size}: forwarded body still carries ${leaked.join(', ')}`);
          if (!text.includes('[REDACTED:email]') || !text.includes('[REDACTED:phone]') || !text.includes(PII.card.slice(-4))) throw new Error(`${name} ${size}: unexpected scrubbed body ${text.slice(0, 500)}`);
          JSON.parse(text);
          if (contentLength !== String(out.body.length)) throw new Error(`${name} ${size}: content-length ${contentLength} but the body is ${out.body.length} bytes`);
        } else if (!out.body.equals(ex.body)) throw new Error(`${name} ${size}: the floor changed the body`);
        const ref = await referenceExchange(session, ex);
        const [h, b] = ref.decoded;
        if ((h?.mode_override?.request_body_mode as unknown) !== 'BUFFERED' || !h?.request_headers) throw new Error(`${name} ${size}: reference reply to request_headers ${JSON.stringify(h)}`);
        if (!b?.request_body || Boolean(b.request_body.response?.body_mutation) !== scrubs) throw new Error(`${name} ${size}: reference reply to request_body ${JSON.stringify(b).slice(0, 300)}`);
        const mutated = b.request_body.response?.body_mutation?.body;
        if (scrubs && !Buffer.from(mutated ?? []).equals(out.body)) throw new Error(`${name} ${size}: wire reply differs from the driver's forwarded body`);
        verification[size] = { bodyModeUsed: out.bodyModeUsed, forwardedBytes: out.body.length, changed: !out.body.equals(ex.body), contentLength, replyBytes: ref.expect.lengths };
        const spec: { exchange: { name: string; headersFrame: string; bodyFrame: string }; expect: Expectation } = {
          exchange: { name: ex.name, headersFrame: ex.headersFrame.toString('base64'), bodyFrame: ex.bodyFrame.toString('base64') },
          expect: ref.expect,
        };
        specs[size] = join(work, `${name}-${size}.json`);
        writeFileSync(specs[size], JSON.stringify(spec));
      }
    } finally {
      driver.close();
      session.destroy();
    }
    log(
      `${name}: verified: ${Object.entries(verification)
        .map(([s, v]) => `${s} ${v.changed ? `scrubbed to ${v.forwardedBytes} B (content-length ${v.contentLength})` : 'passed through'}, replies ${v.replyBytes.join('+')} B`)
        .join('; ')}`,
    );

    // Envoy's default stream end (RST_STREAM) on one connection, sequentially.
    const probeSession = await connect(server.port);
    let completed = 0;
    let error: string | undefined;
    try {
      for (; completed < PLAN.resetProbeStreams; completed++) await exchange(probeSession, exchanges['1KB'], undefined, 'reset');
    } catch (err) {
      error = (err as Error).message;
    } finally {
      probeSession.destroy();
    }
    const resetProbe = { streams: PLAN.resetProbeStreams, completed, ...(error ? { error } : {}) };
    log(`${name}: reset probe: ${completed}/${PLAN.resetProbeStreams} streams ended with RST_STREAM completed${error ? `; then: ${error}` : ''}`);
    return { verification, specs, resetProbe };
  };

  const measure = async (name: string, start: () => Promise<Server>, scrubs: boolean, latencyRate: (peak: number) => number): Promise<ServerRun> => {
    await checkIdle(name);
    const server = await start();
    log(`${name}: pid ${server.child.pid}, gRPC on 127.0.0.1:${server.port}, ready in ${server.startupMs} ms`);
    try {
      const { verification, specs, resetProbe } = await prepare(name, server, scrubs);
      const sweep: LoadRun[] = [];
      for (const c of CONCURRENCY) sweep.push(await cleanLoad(server, specs['4KB'], `4KB closed loop, ${c} in flight`, '4KB', { concurrency: c, ...PLAN.peak }));
      const peak = sweep.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
      const sizePeaks: LoadRun[] = [];
      for (const size of ['1KB', '64KB'] as const) sizePeaks.push(await cleanLoad(server, specs[size], `${size} closed loop, ${CONCURRENCY[0]} in flight`, size, { concurrency: CONCURRENCY[0]!, ...PLAN.peak }));
      const rate = Math.round(latencyRate(peak.reqPerSec));
      const r: ServerRun = { name, command: server.child.commandLine, startupMs: server.startupMs, verification, resetProbe, sweep, peak, sizePeaks, fixed: [], maxRssKiB: undefined };
      r.latency = await cleanLoad(server, specs['4KB'], `4KB open loop at ${rate} req/s (half the floor's peak)`, '4KB', { rate, ...PLAN.latency });
      if (peak.reqPerSec < rate * 1.1) {
        const own = Math.round(peak.reqPerSec / 2);
        r.latencyOwnHalf = await cleanLoad(server, specs['4KB'], `4KB open loop at ${own} req/s (half its own peak)`, '4KB', { rate: own, ...PLAN.latency });
      }
      for (const size of ['1KB', '64KB'] as const) r.fixed.push(await cleanLoad(server, specs[size], `${size} open loop at ${FIXED_RATE} req/s`, size, { rate: FIXED_RATE, ...PLAN.fixed }));
      r.maxRssKiB = Math.max(...[...r.sweep, ...r.sizePeaks, r.latency, r.latencyOwnHalf, ...r.fixed].map((x) => x?.serverRssKiB ?? 0), readRssKiB(server.child.pid) ?? 0) || undefined;
      return r;
    } finally {
      await server.child.stop();
    }
  };

  const floor = await measure('floor', startNoop, false, (p) => p / 2);
  const halfFloor = floor.peak.reqPerSec / 2;
  const tollgate = await measure('tollgate', startTollgate(), true, () => halfFloor);

  const p99Ms = (tollgate.latency?.latencyUs.p99 ?? Number.NaN) / 1000;
  const ownP99Ms = tollgate.latencyOwnHalf ? tollgate.latencyOwnHalf.latencyUs.p99 / 1000 : p99Ms;
  let profile: Awaited<ReturnType<typeof measureProfile>> | undefined;
  const wantProfile = flags.profile ?? (!flags['no-profile'] && !(p99Ms <= TARGET_P99_MS));
  if (wantProfile) {
    const profDir = join(tmpdir(), 'tollgate-extproc-profile'); // kept after the run; not in the repo
    rmSync(profDir, { recursive: true, force: true });
    // Profile at the rate whose latency is reported: half the floor's peak, or half Tollgate's own peak when it
    // cannot sustain that (an overloaded server's profile is dominated by its backlog).
    const rate = tollgate.latencyOwnHalf?.targetRps ?? Math.round(halfFloor);
    profile = await measureProfile(startTollgate(['--cpu-prof', `--cpu-prof-dir=${profDir}`]), profDir, rate, exchanges['4KB']);
  }

  printTable(floor, tollgate);
  const skewed = [floor, tollgate].flatMap((r) => [...r.sweep, ...r.sizePeaks, r.latency, r.latencyOwnHalf, ...r.fixed].filter((l): l is LoadRun => !!l && (l.otherCpuPct ?? 0) > OTHER_CPU_LIMIT_PCT).map((l) => `${r.name}: ${l.label}`));
  if (skewed.length) console.log(`WARNING: other processes used over ${OTHER_CPU_LIMIT_PCT}% of a core during (after ${flags.retries} retries): ${skewed.join('; ')}\n`);
  if (profile) printProfile(profile);

  const ms = (s: Summary | undefined) => s && Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'count' ? v : round(v / 1000, 3)]));
  const report = (l: LoadRun | undefined) =>
    l && {
      ...l,
      reqPerSec: round(l.reqPerSec, 1),
      clientCpuPct: round(l.clientCpuPct, 1),
      serverCpuPct: l.serverCpuPct === undefined ? undefined : round(l.serverCpuPct, 1),
      serverCpuUsPerReq: l.serverCpuUsPerReq === undefined ? undefined : round(l.serverCpuUsPerReq, 0),
      otherCpuPct: l.otherCpuPct === undefined ? undefined : round(l.otherCpuPct, 1),
      mbPerSec: round((l.reqPerSec * SIZES[l.body]) / 1e6, 2),
      latencyUs: undefined,
      lagUs: undefined,
      latencyMs: ms(l.latencyUs),
      ...(l.lagUs ? { clientLagMs: ms(l.lagUs) } : {}),
    };
  const server = (r: ServerRun) => ({
    command: r.command,
    startupMs: r.startupMs,
    verification: r.verification,
    resetProbe: r.resetProbe,
    sweep: r.sweep.map(report),
    peakReqPerSec: round(r.peak.reqPerSec, 1),
    peakConcurrency: r.peak.concurrency,
    sizePeaks: r.sizePeaks.map(report),
    latencyAtHalfFloorPeak: report(r.latency),
    ...(r.latencyOwnHalf ? { latencyAtHalfOwnPeak: report(r.latencyOwnHalf) } : {}),
    fixedRate: r.fixed.map(report),
    maxRssKiB: r.maxRssKiB,
  });
  const fixedOf = (r: ServerRun, size: SizeName) => r.fixed.find((f) => f.body === size);
  const path = writeResult('extproc', {
    quick,
    command: `npx tsx bench/extproc/run.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    pinned: pin ? { server: SERVER_CPU, loadGenerators: LOAD_CPU } : false,
    systemBusyBefore: busyBefore,
    plan: { ...PLAN, concurrency: CONCURRENCY, fixedRate: FIXED_RATE, clientProcs: CLIENT_PROCS, connsPerProc: CONNS, closeMode: 'graceful half-close (see resetProbe)' },
    policy: policyYaml.slice(policyYaml.indexOf('\nscrub:') + 1),
    bodies: Object.fromEntries(Object.entries(exchanges).map(([k, ex]) => [k, { bytes: ex.body.length, carries: ['email', 'phone', 'credit_card'], headers: ex.headers }])),
    summary: {
      floorPeakReqPerSec: round(floor.peak.reqPerSec, 1),
      tollgatePeakReqPerSec: round(tollgate.peak.reqPerSec, 1),
      peakRatio: round(tollgate.peak.reqPerSec / floor.peak.reqPerSec, 3),
      /** CPU % of one core at the peak: the floor's server does not saturate (see README), Tollgate's does. */
      peakCpuPct: {
        floor: { server: round(floor.peak.serverCpuPct ?? Number.NaN, 1), client: round(floor.peak.clientCpuPct, 1) },
        tollgate: { server: round(tollgate.peak.serverCpuPct ?? Number.NaN, 1), client: round(tollgate.peak.clientCpuPct, 1) },
      },
      serverCpuUsPerRequestAtPeak: Object.fromEntries(
        (['1KB', '4KB', '64KB'] as const).map((size) => {
          const at = (r: ServerRun) => (size === '4KB' ? r.peak : r.sizePeaks.find((x) => x.body === size))?.serverCpuUsPerReq;
          return [size, { floor: round(at(floor) ?? Number.NaN, 0), tollgate: round(at(tollgate) ?? Number.NaN, 0) }];
        }),
      ),
      latencyRateReqPerSec: tollgate.latency?.targetRps,
      floorP50Ms: round(floor.latency!.latencyUs.p50 / 1000, 3),
      floorP99Ms: round(floor.latency!.latencyUs.p99 / 1000, 3),
      tollgateP50Ms: round(tollgate.latency!.latencyUs.p50 / 1000, 3),
      tollgateP99Ms: round(p99Ms, 3),
      ...(tollgate.latencyOwnHalf ? { tollgateP99MsAtHalfOwnPeak: round(ownP99Ms, 3) } : {}),
      p99TargetMs: TARGET_P99_MS,
      meetsLatencyTarget: p99Ms <= TARGET_P99_MS,
      fixedRate: FIXED_RATE,
      p99Ms1KB: { floor: round(fixedOf(floor, '1KB')!.latencyUs.p99 / 1000, 3), tollgate: round(fixedOf(tollgate, '1KB')!.latencyUs.p99 / 1000, 3) },
      p99Ms64KB: { floor: round(fixedOf(floor, '64KB')!.latencyUs.p99 / 1000, 3), tollgate: round(fixedOf(tollgate, '64KB')!.latencyUs.p99 / 1000, 3) },
      /** RSS right after the 4 KB peak run, and the most sampled over all runs (an overloaded run's backlog included). */
      rssMiBAfterPeak: { floor: round((floor.peak.serverRssKiB ?? Number.NaN) / 1024, 1), tollgate: round((tollgate.peak.serverRssKiB ?? Number.NaN) / 1024, 1) },
      maxRssMiB: { floor: round((floor.maxRssKiB ?? Number.NaN) / 1024, 1), tollgate: round((tollgate.maxRssKiB ?? Number.NaN) / 1024, 1) },
      resetProbe: { floor: floor.resetProbe, tollgate: tollgate.resetProbe },
      /** Measurements during which other processes used over 15% of a core even after the retries. */
      skewedRuns: [floor, tollgate].flatMap((r) =>
        [...r.sweep, ...r.sizePeaks, r.latency, r.latencyOwnHalf, ...r.fixed].filter((l): l is LoadRun => !!l && (l.otherCpuPct ?? 0) > OTHER_CPU_LIMIT_PCT).map((l) => `${r.name}: ${l.label} (other processes ${round(l.otherCpuPct!, 0)}%)`),
      ),
    },
    floor: server(floor),
    tollgate: server(tollgate),
    profile: profile && { ...profile, summary: undefined, ...profile.summary },
  });
  log(`wrote ${path}`);
}

async function measureProfile(start: () => Promise<Server>, profDir: string, rate: number, ex: Exchange) {
  log(`profiling tollgate under node --cpu-prof (separate run, open loop at ${rate} req/s)`);
  const spawned = Date.now();
  const server = await start();
  const spec = join(work, 'profile-4KB.json');
  const session = await connect(server.port);
  const ref = await referenceExchange(session, ex);
  session.destroy();
  writeFileSync(spec, JSON.stringify({ exchange: { name: ex.name, headersFrame: ex.headersFrame.toString('base64'), bodyFrame: ex.bodyFrame.toString('base64') }, expect: ref.expect }));
  // Leave start-up (module loading, policy compile) and the load generator's warm-up out of the summary.
  const skipMs = Date.now() - spawned + 1500;
  const lr = await load(server, spec, `4KB open loop at ${rate} req/s under the profiler`, '4KB', { rate, warmupS: 1, durationS: PLAN.profileS });
  const exit = await server.child.stop(20_000);
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${server.child.pid}.0.`));
  if (files.length === 0) throw new Error(`no main-thread .cpuprofile written in ${profDir} (server exit ${exit.code ?? exit.signal})`);
  const file = join(profDir, files.sort()[0]!);
  return {
    command: server.child.commandLine,
    file,
    skipMs,
    rate,
    p99MsUnderProfiler: round(lr.latencyUs.p99 / 1000, 3),
    summary: summarizeCpuProfile(file, ROOT, 30, skipMs),
    srcInclusive: inclusiveUnder(file, ROOT, 'src/', 30, skipMs),
  };
}

function printTable(floor: ServerRun, toll: ServerRun): void {
  const num = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  const ms = (us: number | undefined) => num(us === undefined ? undefined : us / 1000, 2);
  const ratio = (t: number | undefined, f: number | undefined) => (t !== undefined && f !== undefined && f > 0 ? `${(t / f).toFixed(2)}` : '');
  const rows: string[][] = [['', 'floor (no-op)', 'tollgate', 'tollgate/floor']];
  const block = (title: string, f: LoadRun | undefined, t: LoadRun | undefined) => {
    rows.push([title, '', '', '']);
    const mb = (l: LoadRun | undefined) => (l ? (l.reqPerSec * SIZES[l.body]) / 1e6 : undefined);
    rows.push(['  req/s (MB/s of body)', f ? `${num(f.reqPerSec)} (${num(mb(f), 1)})` : '-', t ? `${num(t.reqPerSec)} (${num(mb(t), 1)})` : '-', ratio(t?.reqPerSec, f?.reqPerSec)]);
    rows.push(['  p50 ms', ms(f?.latencyUs.p50), ms(t?.latencyUs.p50), ratio(t?.latencyUs.p50, f?.latencyUs.p50)]);
    rows.push(['  p99 ms', ms(f?.latencyUs.p99), ms(t?.latencyUs.p99), ratio(t?.latencyUs.p99, f?.latencyUs.p99)]);
    rows.push(['  max ms', ms(f?.latencyUs.max), ms(t?.latencyUs.max), '']);
    if (f?.lagUs || t?.lagUs) rows.push(['  client start lag p99 ms', ms(f?.lagUs?.p99), ms(t?.lagUs?.p99), '']);
    rows.push(['  server CPU % (µs/request)', f ? `${num(f.serverCpuPct)} (${num(f.serverCpuUsPerReq)})` : '-', t ? `${num(t.serverCpuPct)} (${num(t.serverCpuUsPerReq)})` : '-', ratio(t?.serverCpuUsPerReq, f?.serverCpuUsPerReq)]);
    rows.push(['  client / other CPU %', f ? `${num(f.clientCpuPct)} / ${num(f.otherCpuPct)}` : '-', t ? `${num(t.clientCpuPct)} / ${num(t.otherCpuPct)}` : '-', '']);
  };
  for (let i = 0; i < floor.sweep.length; i++) block(`4 KB, closed loop, ${floor.sweep[i]!.concurrency} in flight`, floor.sweep[i], toll.sweep[i]);
  for (const size of ['1KB', '64KB'] as const) {
    const f = floor.sizePeaks.find((x) => x.body === size);
    block(`${size.replace('KB', ' KB')}, closed loop, ${f?.concurrency} in flight`, f, toll.sizePeaks.find((x) => x.body === size));
  }
  block(`4 KB, open loop at ${toll.latency?.targetRps} req/s (half the floor's peak)`, floor.latency, toll.latency);
  if (toll.latencyOwnHalf) block(`4 KB, open loop at ${toll.latencyOwnHalf.targetRps} req/s (half Tollgate's peak)`, undefined, toll.latencyOwnHalf);
  for (const size of ['1KB', '64KB'] as const) block(`${size.replace('KB', ' KB')}, open loop at ${FIXED_RATE} req/s`, floor.fixed.find((x) => x.body === size), toll.fixed.find((x) => x.body === size));
  const rssOf = (r: ServerRun) => r.peak.serverRssKiB && r.peak.serverRssKiB / 1024;
  rows.push(['server RSS MiB after the 4 KB peak run', num(rssOf(floor), 1), num(rssOf(toll), 1), ratio(rssOf(toll), rssOf(floor))]);
  rows.push(['server RSS MiB (max sampled, any run)', num(floor.maxRssKiB && floor.maxRssKiB / 1024, 1), num(toll.maxRssKiB && toll.maxRssKiB / 1024, 1), ratio(toll.maxRssKiB, floor.maxRssKiB)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log('');
  console.log(`peak 4 KB req/s: floor ${num(floor.peak.reqPerSec)} (${floor.peak.concurrency} in flight), tollgate ${num(toll.peak.reqPerSec)} (${toll.peak.concurrency} in flight): ratio ${ratio(toll.peak.reqPerSec, floor.peak.reqPerSec)}`);
  const p99 = (toll.latency?.latencyUs.p99 ?? Number.NaN) / 1000;
  console.log(`tollgate p99 at half the floor's peak (${toll.latency?.targetRps} req/s, 4 KB): ${p99.toFixed(2)} ms (target <= ${TARGET_P99_MS} ms) ${p99 <= TARGET_P99_MS ? 'OK' : 'ABOVE TARGET'}`);
  if (toll.latencyOwnHalf) {
    const own = toll.latencyOwnHalf.latencyUs.p99 / 1000;
    console.log(`tollgate p99 at half its own peak (${toll.latencyOwnHalf.targetRps} req/s, 4 KB): ${own.toFixed(2)} ms (target <= ${TARGET_P99_MS} ms) ${own <= TARGET_P99_MS ? 'OK' : 'ABOVE TARGET'}`);
  }
  console.log(`reset probe (Envoy's default RST_STREAM stream end, one connection): floor ${floor.resetProbe.completed}/${floor.resetProbe.streams}, tollgate ${toll.resetProbe.completed}/${toll.resetProbe.streams}${toll.resetProbe.error ? ` (then: ${toll.resetProbe.error})` : ''}`);
  console.log(
    `load: ${CLIENT_PROCS} client process(es) x ${CONNS} HTTP/2 connections; closed loop ${PLAN.peak.durationS}s after ${PLAN.peak.warmupS}s; paced open loop ${PLAN.latency.durationS}s after ${PLAN.latency.warmupS}s (fixed-rate runs ${PLAN.fixed.durationS}s); latency = request_headers sent to request_body reply received`,
  );
  console.log('');
}

function printProfile(p: { file: string; rate: number; p99MsUnderProfiler: number; summary: ProfileSummary; srcInclusive: HotFunction[] }): void {
  const s = p.summary;
  console.log(`CPU profile at ${p.rate} req/s (${p.file}; ${s.durationMs} ms, ${s.idlePct}% idle; p99 under the profiler ${p.p99MsUnderProfiler} ms); self time, % of busy:`);
  for (const f of s.functions.slice(0, 20)) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
  console.log('self time by file/package:');
  for (const f of s.files.slice(0, 15)) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.file}`);
  console.log('src/ functions by inclusive time:');
  for (const f of p.srcInclusive.slice(0, 20)) console.log(`  ${f.totalPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
  console.log('');
}

try {
  await main();
} catch (err) {
  console.error(`[bench] failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  for (const p of clientProcs) p.kill('SIGKILL');
  for (const c of children) await c.stop(2000);
  rmSync(work, { recursive: true, force: true });
}
