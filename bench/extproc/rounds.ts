/**
 * The issue's ext_proc row: closed-loop requests/s and server CPU per request with 1 KB and 64 KB JSON bodies,
 * Tollgate against the no-op floor, **interleaved** in one run (both servers up, pinned to the same CPU, loaded in
 * turn, order alternating per round) and repeated, so a busy machine skews both sides of each ratio alike.
 *
 *   npx tsx bench/extproc/rounds.ts            # 6 rounds x (1 KB, 64 KB) x (floor, tollgate), 3 s each; ~2.5 min
 *   npx tsx bench/extproc/rounds.ts --quick    # 3 rounds, 2 s each; ~1 min
 *   npx tsx bench/extproc/rounds.ts --profile  # Tollgate under node --cpu-prof; prints where its time goes
 *   npx tsx bench/extproc/rounds.ts --before <git rev>   # also "before": this tree with src/extproc/ as of <rev>
 *
 * Options: --rounds N, --duration S, --concurrency N (streams in flight, default 16), --sizes 1KB,64KB, --no-pin. Tollgate runs from
 * src/ (TOLLGATE_FROM_SOURCE=1) so that "before" and the current tree run the same way.
 * Per round and size: requests/s and server CPU µs/request of each; the ratios are paired within the round and
 * reported as median with min–max. Writes bench/results/extproc-rounds.json. Same load generator, bodies, policy
 * and reply checks (kind and exact size of every reply) as run.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inclusiveUnder, summarizeCpuProfile } from '../lib/cpuprofile.js';
import { Child, cpuTimeMs, freePort, machineCpu, pinned, run, stopOnExit } from '../lib/proc.js';
import { writeResult } from '../lib/results.js';
import { round } from '../lib/stats.js';
import { orderBody } from './bodies.js';
import type { ClientResult } from './client.js';
import { benchPolicyYaml } from './policy.js';
import { buildExchange, connect, referenceExchange, type Exchange } from './wire.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    sizes: { type: 'string', default: '1KB,64KB' },
    profile: { type: 'boolean', default: false },
    before: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(flags.rounds ?? (flags.quick ? 3 : 6));
const DURATION_S = Number(flags.duration ?? (flags.quick ? 2 : 3));
const CONCURRENCY = Number(flags.concurrency);
const SERVER_CPU = flags['no-pin'] ? undefined : 0;
const LOAD_CPU = flags['no-pin'] ? undefined : 1;
const ALL_SIZES = { '1KB': 1024, '64KB': 65536 } as const;
type Size = keyof typeof ALL_SIZES;
const SIZES = Object.fromEntries(
  flags.sizes.split(',').map((n) => {
    if (!(n in ALL_SIZES)) throw new Error(`--sizes: ${n} is not one of ${Object.keys(ALL_SIZES).join(', ')}`);
    return [n, ALL_SIZES[n as Size]];
  }),
) as Partial<Record<Size, number>>;
type Name = 'floor' | 'tollgate' | 'before';

const children: Child[] = [];
stopOnExit(() => children);
const work = mkdtempSync(join(tmpdir(), 'tollgate-extproc-rounds-'));
const log = (m: string) => console.log(`[rounds] ${m}`);

interface Sample {
  round: number;
  size: Size;
  server: Name;
  reqPerSec: number;
  cpuUsPerReq: number;
  serverCpuPct: number;
  otherCpuPct: number;
}

async function startFloor(): Promise<{ child: Child; port: number }> {
  const child = new Child(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/extproc/noop-server.ts')], { cwd: ROOT, cpu: SERVER_CPU });
  children.push(child);
  return { child, port: Number((await child.waitForLine(/^listening (\d+)$/))[1]) };
}

async function startTollgate(root: string, policyFile: string, nodeFlags: string[]): Promise<{ child: Child; port: number }> {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(work, 'data-'));
  const args = [...nodeFlags, join(root, 'bin/tollgate.js'), 'serve', '--policy', policyFile, '--demo', '--grpc', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`, '--data', dataDir];
  const child = new Child(process.execPath, args, { cwd: root, cpu: SERVER_CPU, stdout: 'ignore', env: { ...process.env, TOLLGATE_FROM_SOURCE: '1' } });
  children.push(child);
  await child.waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, 60_000);
  return { child, port: grpcPort };
}

/**
 * A copy of this working tree (others' uncommitted work included) whose src/extproc/ is as of `rev`, so the
 * comparison isolates the ext_proc code; node_modules is shared through a symlink.
 */
function beforeTree(rev: string): string {
  const dir = join(work, 'before');
  const sh = (cmd: string, args: string[], input?: Buffer) => {
    const r = spawnSync(cmd, args, { input, maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  sh('rsync', ['-a', '--exclude=/node_modules', '--exclude=/.git', '--exclude=/dist', '--exclude=/bench/results', `${ROOT}/`, `${dir}/`]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  rmSync(join(dir, 'src/extproc'), { recursive: true, force: true });
  sh('tar', ['-x', '-C', dir], sh('git', ['-C', ROOT, 'archive', rev, 'src/extproc']));
  return dir;
}

/** Writes the load generator's spec (frames + the expected reply kinds and sizes) after one reference exchange. */
async function spec(name: Name, port: number, ex: Exchange): Promise<string> {
  const session = await connect(port);
  try {
    const ref = await referenceExchange(session, ex);
    const mutated = Boolean(ref.decoded[1]?.request_body?.response?.body_mutation);
    if (mutated !== (name !== 'floor')) throw new Error(`${name} ${ex.name}: body ${mutated ? 'mutated' : 'not mutated'}; expected the floor to pass it and Tollgate to scrub it`);
    const file = join(work, `${name}-${ex.name}.json`);
    writeFileSync(file, JSON.stringify({ exchange: { name: ex.name, headersFrame: ex.headersFrame.toString('base64'), bodyFrame: ex.bodyFrame.toString('base64') }, expect: ref.expect }));
    return file;
  } finally {
    session.destroy();
  }
}

/** One closed-loop run of the load generator (pinned to the other CPU) against `port`. */
async function load(pid: number, port: number, specFile: string): Promise<Omit<Sample, 'round' | 'size' | 'server'>> {
  const [cmd, args] = pinned(LOAD_CPU, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/extproc/client.ts'), '--port', String(port), '--spec', specFile, '--conns', '2', '--warmup', '1', '--duration', String(DURATION_S), '--concurrency', String(CONCURRENCY)]);
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const lines = createInterface({ input: proc.stdout });
  let cpu0 = 0;
  let busy0 = 0;
  let t0 = 0;
  const result = await new Promise<ClientResult>((resolveResult, reject) => {
    proc.once('exit', (code) => reject(new Error(`load generator exited (${code}):\n${stderr}`)));
    lines.on('line', (l) => {
      if (l === 'ready') {
        cpu0 = cpuTimeMs(pid) ?? Number.NaN;
        busy0 = machineCpu()?.processMs ?? Number.NaN;
        t0 = performance.now();
        proc.stdin.write('go\n');
      } else if (l.startsWith('result ')) resolveResult(JSON.parse(l.slice(7)) as ClientResult);
    });
  });
  const wallMs = performance.now() - t0;
  const serverMs = (cpuTimeMs(pid) ?? Number.NaN) - cpu0;
  const machineMs = (machineCpu()?.processMs ?? Number.NaN) - busy0;
  if (result.errors > 0) throw new Error(`${result.errors} failed requests: ${result.errorSamples.join('; ')}`);
  const clientMs = result.cpuUserMs + result.cpuSystemMs;
  return {
    reqPerSec: result.reqPerSec,
    cpuUsPerReq: (serverMs * 1000) / Math.max(1, result.completed),
    serverCpuPct: (serverMs / wallMs) * 100,
    otherCpuPct: Math.max(0, ((machineMs - serverMs - clientMs) / wallMs) * 100),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[]) => ({ median: round(median(xs), 3), min: round(Math.min(...xs), 3), max: round(Math.max(...xs), 3) });

async function main(): Promise<void> {
  const load0 = loadavg();
  log(`node ${process.version}; ${ROUNDS} rounds x ${DURATION_S} s per run, ${CONCURRENCY} streams in flight; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const policyFile = join(work, 'policy.yaml');
  writeFileSync(policyFile, benchPolicyYaml(ROOT));
  const validated = await run(process.execPath, [join(ROOT, 'bin/tollgate.js'), 'validate', policyFile], { cwd: ROOT });
  if (validated.code !== 0) throw new Error(`bench policy is invalid:\n${validated.stdout}${validated.stderr}`);

  const profDir = join(tmpdir(), 'tollgate-extproc-profile');
  if (flags.profile) rmSync(profDir, { recursive: true, force: true });
  const spawned = Date.now();
  const servers: Partial<Record<Name, { child: Child; port: number }>> = { floor: await startFloor(), tollgate: await startTollgate(ROOT, policyFile, flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []) };
  if (flags.before) servers.before = await startTollgate(beforeTree(flags.before), policyFile, []);
  const names = Object.keys(servers) as Name[];
  // The profile leaves out start-up (module loading, policy compile) and the first load generator's warm-up.
  const skipMs = Date.now() - spawned + 1500;
  const exchanges = Object.fromEntries(Object.entries(SIZES).map(([n, b]) => [n, buildExchange(n, Buffer.from(orderBody(b)))])) as Record<Size, Exchange>;
  const specs = {} as Record<Name, Record<Size, string>>;
  for (const name of names) {
    specs[name] = {} as Record<Size, string>;
    for (const size of Object.keys(SIZES) as Size[]) specs[name][size] = await spec(name, servers[name]!.port, exchanges[size]);
  }

  const samples: Sample[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const size of Object.keys(SIZES) as Size[]) {
      // Each round starts with a different server, so no one always runs first (or right after another).
      const order = names.map((_, i) => names[(i + r) % names.length]!);
      for (const server of order) {
        const s = { round: r + 1, size, server, ...(await load(servers[server]!.child.pid, servers[server]!.port, specs[server][size])) };
        samples.push(s);
        log(`round ${s.round} ${size} ${server.padEnd(8)} ${s.reqPerSec.toFixed(0).padStart(6)} req/s, ${s.cpuUsPerReq.toFixed(0).padStart(5)} µs CPU/req (server ${s.serverCpuPct.toFixed(0)}% of a core; other processes ${s.otherCpuPct.toFixed(0)}%)`);
      }
    }
  }
  const load1 = loadavg();

  const summary = Object.fromEntries(
    (Object.keys(SIZES) as Size[]).map((size) => {
      const of = (server: Name) => samples.filter((s) => s.size === size && s.server === server);
      const f = of('floor');
      const versus = (server: Name) => {
        const t = of(server);
        return {
          reqPerSec: spread(t.map((s) => s.reqPerSec)),
          throughputRatio: spread(t.map((s, i) => s.reqPerSec / f[i]!.reqPerSec)),
          cpuUsPerReq: spread(t.map((s) => s.cpuUsPerReq)),
          cpuPerReqRatio: spread(t.map((s, i) => s.cpuUsPerReq / f[i]!.cpuUsPerReq)),
        };
      };
      return [
        size,
        {
          floorReqPerSec: spread(f.map((s) => s.reqPerSec)),
          floorCpuUsPerReq: spread(f.map((s) => s.cpuUsPerReq)),
          tollgate: versus('tollgate'),
          ...(servers.before ? { before: versus('before') } : {}),
          otherCpuPct: spread(samples.filter((s) => s.size === size).map((s) => s.otherCpuPct)),
        },
      ];
    }),
  );
  console.log('');
  console.log('size   server    req/s (median, min-max)   ratio to floor           CPU µs/req (median)   CPU ratio to floor');
  const r = (x: { median: number; min: number; max: number }, d = 0) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}-${x.max.toFixed(d)})`;
  for (const [size, s] of Object.entries(summary)) {
    console.log(`${size.padEnd(6)} ${'floor'.padEnd(9)} ${r(s.floorReqPerSec).padEnd(25)} ${''.padEnd(24)} ${s.floorCpuUsPerReq.median.toFixed(0).padEnd(21)}`);
    for (const name of ['before', 'tollgate'] as const) {
      const v = s[name];
      if (v) console.log(`${size.padEnd(6)} ${name.padEnd(9)} ${r(v.reqPerSec).padEnd(25)} ${r(v.throughputRatio, 2).padEnd(24)} ${v.cpuUsPerReq.median.toFixed(0).padEnd(21)} ${r(v.cpuPerReqRatio, 2)}`);
    }
  }
  console.log(`load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')}\n`);

  let profile: unknown;
  if (flags.profile) {
    const pid = servers.tollgate!.child.pid;
    await servers.tollgate!.child.stop(20_000);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
    if (!file) throw new Error(`no main-thread .cpuprofile for ${pid} in ${profDir}`);
    const path = join(profDir, file);
    const s = summarizeCpuProfile(path, ROOT, 30, skipMs);
    const inc = inclusiveUnder(path, ROOT, 'src/', 30, skipMs);
    console.log(`CPU profile ${path} (${s.durationMs} ms, ${s.idlePct}% idle); self time, % of busy:`);
    for (const f of s.functions.slice(0, 25)) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
    console.log('self time by file/package:');
    for (const f of s.files.slice(0, 20)) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.file}`);
    console.log('src/ functions by inclusive time:');
    for (const f of inc.slice(0, 30)) console.log(`  ${f.totalPct.toFixed(1).padStart(5)}%  ${f.function}  ${f.location}`);
    profile = { file: path, summary: s, srcInclusive: inc };
  }

  const path = writeResult(flags.profile ? 'extproc-rounds-profiled' : 'extproc-rounds', {
    command: `npx tsx bench/extproc/rounds.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    plan: { rounds: ROUNDS, durationS: DURATION_S, warmupS: 1, concurrency: CONCURRENCY, connections: 2, pinned: SERVER_CPU !== undefined, ...(flags.before ? { before: `src/extproc as of ${flags.before}` } : {}) },
    loadAverage: { before: load0, after: load1 },
    summary,
    samples: samples.map((s) => ({ ...s, reqPerSec: round(s.reqPerSec, 1), cpuUsPerReq: round(s.cpuUsPerReq, 1), serverCpuPct: round(s.serverCpuPct, 1), otherCpuPct: round(s.otherCpuPct, 1) })),
    ...(profile ? { profile } : {}),
  });
  log(`wrote ${path}`);
}

try {
  await main();
} catch (err) {
  console.error(`[rounds] failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  for (const c of children) await c.stop(2000);
  rmSync(work, { recursive: true, force: true });
}
