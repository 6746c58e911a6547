// `tollgate` start-up: wall and CPU time of whole CLI runs, interleaved with the floor `node -e 0`.
// Variants: the compiled CLI as users run it (bin/tollgate.js -> dist/bundle/), the per-module compiled tree
// without the bundle (dist/cli.js), the sources through tsx (TOLLGATE_FROM_SOURCE=1, what a stale or missing
// dist/ falls back to), and the CLI before this change (every subcommand imported eagerly, through tsx:
// git show 6ba887c:src/cli.ts).
// Runs in a frozen copy of src/ (node_modules linked), so edits to the working tree cannot turn dist/
// stale mid-run. Usage: npm run bench -- cli-startup [--quick] [--rounds N]
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commandExists } from '../lib/proc.js';
import { writeResult } from '../lib/results.js';
import { mulberry32 } from '../lib/rng.js';
import { round, summarize } from '../lib/stats.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' } } });
const rounds = Number(values.rounds ?? (values.quick ? 3 : 10));
const repo = resolve(import.meta.dirname, '../..');
const EAGER_CLI_COMMIT = '6ba887c';

const copy = mkdtempSync(join(tmpdir(), 'tollgate-startup-'));
process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
for (const dir of ['src', 'bin', 'scripts', 'examples']) cpSync(join(repo, dir), join(copy, dir), { recursive: true });
for (const file of ['package.json', 'tsconfig.json']) cpSync(join(repo, file), join(copy, file));
symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
writeFileSync(join(copy, 'src/cli-eager.ts'), execFileSync('git', ['show', `${EAGER_CLI_COMMIT}:src/cli.ts`], { cwd: repo }));
execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: copy, stdio: 'inherit' });
mkdirSync(join(copy, 'in'));
const tiny = join(copy, 'in/tiny.txt');
writeFileSync(tiny, 'contact alice@example.com or +1 415 555 0100, key sk_live_4eC39HqLyjWDarjtT1zdp7dc\n');

const commands: Record<string, string[]> = {
  '--version': ['--version'],
  '--help': ['--help'],
  'scan (tiny file)': ['scan', tiny],
  decide: ['decide', '--policy', 'examples/policy.yaml', '--identity', 'billing', '--host', 'api.stripe.com'],
  validate: ['validate', 'examples/policy.yaml'],
};
interface Variant {
  args: (cmd: string[]) => string[];
  env?: NodeJS.ProcessEnv;
}
const variants: Record<string, Variant> = {
  'compiled (bin -> dist/bundle)': { args: (c) => ['bin/tollgate.js', ...c] },
  'compiled, one file per module (dist/cli.js)': { args: (c) => ['dist/cli.js', ...c] },
  'source (tsx)': { args: (c) => ['bin/tollgate.js', ...c], env: { TOLLGATE_FROM_SOURCE: '1' } },
  'before: eager imports, tsx': { args: (c) => ['--import', 'tsx', 'src/cli-eager.ts', ...c] },
};

const timeBin = commandExists('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuFile = join(copy, 'cpu.txt');

/** One run to completion: wall ms (spawn to exit) and, with /usr/bin/time, user+system CPU ms. */
function once(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ wallMs: number; cpuMs: number | undefined; code: number | null; stdout: string }> {
  const [cmd, argv] = timeBin ? [timeBin, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args]] : [process.execPath, args];
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { cwd: copy, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.once('error', fail);
    child.once('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let cpuMs: number | undefined;
      if (timeBin) {
        const [u, s] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        cpuMs = ((u ?? 0) + (s ?? 0)) * 1000;
      }
      done({ wallMs, cpuMs, code, stdout });
    });
  });
}

// Every (command, variant) pair plus the floor, once per round, in a shuffled order.
const jobs: Array<{ key: string; args: string[]; env?: NodeJS.ProcessEnv }> = [{ key: 'floor: node -e 0', args: ['-e', '0'] }];
for (const [cname, cargs] of Object.entries(commands)) for (const [vname, v] of Object.entries(variants)) jobs.push({ key: `${cname} | ${vname}`, args: v.args(cargs), env: v.env });
const wall = new Map<string, number[]>(jobs.map((j) => [j.key, []]));
const cpu = new Map<string, number[]>(jobs.map((j) => [j.key, []]));

// One untimed pass: fills the OS page cache (and Node 22+'s compile cache) and checks that every variant of a
// command answers alike (exit code and stdout), so no row times an error.
const answers = new Map<string, string>();
for (const j of jobs) {
  const r = await once(j.args, j.env);
  const command = j.key.split(' | ')[0]!;
  const answer = `exit ${r.code}\n${r.stdout}`;
  if (!answers.has(command)) answers.set(command, answer);
  else if (answers.get(command) !== answer) throw new Error(`${j.key} answers differently:\n${answer}\n--- first variant:\n${answers.get(command)}`);
}
const load = { before: loadavg().map((n) => round(n)) };
const rand = mulberry32(12);
for (let r = 0; r < rounds; r++) {
  const order = [...jobs].sort(() => rand() - 0.5);
  for (const j of order) {
    const res = await once(j.args, j.env);
    wall.get(j.key)!.push(res.wallMs);
    if (res.cpuMs !== undefined) cpu.get(j.key)!.push(res.cpuMs);
  }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
const loadAfter = loadavg().map((n) => round(n));

const floorWall = summarize(wall.get(jobs[0]!.key)!).p50;
const wallP50 = (key: string) => summarize(wall.get(key) ?? []).p50;
const rows = jobs.map((j) => {
  const w = summarize(wall.get(j.key)!);
  const c = cpu.get(j.key)!.length ? summarize(cpu.get(j.key)!) : undefined;
  const before = `${j.key.split(' | ')[0]} | before: eager imports, tsx`;
  return {
    run: j.key,
    wallMsP50: round(w.p50, 1),
    wallMsMin: round(w.min, 1),
    wallMsMax: round(w.max, 1),
    overFloorMs: round(w.p50 - floorWall, 1),
    // Share of the pre-change CLI's wall time for the same command (load inflates both alike).
    ofBefore: wall.has(before) ? round(w.p50 / wallP50(before), 3) : null,
    cpuMsP50: c ? round(c.p50, 0) : null,
    meetsGoal: j.key.startsWith('floor') ? null : w.p50 <= 300,
  };
});
console.table(rows);
const path = writeResult('cli-startup', {
  goal: 'tollgate CLI start-up <= 300 ms wall (issue #12)',
  rounds,
  quick: values.quick,
  loadAverage: { before: load.before, after: loadAfter },
  note: 'wall = spawn to exit of the whole run, median (min..max) over rounds; cpu = user+system from /usr/bin/time (10 ms resolution)',
  rows,
});
console.log(`wrote ${path}; load average ${load.before.join(' ')} -> ${loadAfter.join(' ')}`);
