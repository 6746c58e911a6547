import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Asks the kernel for a free TCP port on `host` (closed again before returning; small race accepted). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True when `name` resolves on PATH. */
export function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** CPU time the command used (sampled every 100 ms from /proc, so the last few ms may be missing). */
  cpuMs: number | undefined;
}

/** Runs a command to completion and collects its output. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let cpuMs: number | undefined;
    const sample = () => {
      if (child.pid !== undefined) cpuMs = cpuTimeMs(child.pid) ?? cpuMs;
    };
    const timer = setInterval(sample, 100);
    child.once('exit', sample);
    child.once('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, cpuMs });
    });
  });
}

/**
 * Prefixes a command with `taskset -c <cpu>` when a CPU is given and taskset exists. taskset execs the
 * command, so the child's pid stays the process we measure.
 */
export function pinned(cpu: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (cpu === undefined || !commandExists('taskset')) return [cmd, [...args]];
  return ['taskset', ['-c', String(cpu), cmd, ...args]];
}

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** What to do with the child's stdout: keep lines for waitForLine ('pipe'), or discard ('ignore'). */
  stdout?: 'pipe' | 'ignore';
  /** Pin the child to this CPU with taskset (if available). */
  cpu?: number;
}

/** A long-running child process (a server under test) with helpers to wait for it and stop it. */
export class Child {
  readonly proc: ChildProcess;
  readonly commandLine: string;
  private readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  private stderrTail = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(cmd: string, args: readonly string[], opts: ChildOptions = {}) {
    const [c, a] = pinned(opts.cpu, cmd, args);
    this.commandLine = [c, ...a].join(' ');
    const stdio: StdioOptions = ['ignore', opts.stdout ?? 'pipe', 'pipe'];
    this.proc = spawn(c, a, { cwd: opts.cwd, env: opts.env, stdio });
    if (this.proc.stdout) {
      createInterface({ input: this.proc.stdout }).on('line', (line) => {
        this.lines.push(line);
        this.notify();
      });
    }
    this.proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    this.proc.once('exit', (code, signal) => {
      this.exited = { code, signal };
      this.notify();
    });
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.commandLine}: not started`);
    return this.proc.pid;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first stdout line matching `re` (searching lines already seen too). */
  async waitForLine(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        const m = this.lines[seen]!.match(re);
        if (m) return m;
      }
      if (this.exited) throw new Error(`${this.commandLine} exited (${this.exited.code ?? this.exited.signal}) before printing ${re}\n${this.stderrTail}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.commandLine}: timed out waiting for ${re}\n${this.stderrTail}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Polls `url` until it answers 2xx. */
  async waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.commandLine} exited (${this.exited.code ?? this.exited.signal}) before ${url} was ready\n${this.stderrTail}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} not ready after ${timeoutMs} ms (${last})\n${this.stderrTail}`);
  }

  /** Resident set size in KiB from /proc/<pid>/status (Linux), or undefined. */
  rssKiB(): number | undefined {
    return readRssKiB(this.pid);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) {
      const done = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    }
    return this.exited!;
  }
}

/** VmRSS of a process in KiB, from /proc/<pid>/status. */
export function readRssKiB(pid: number): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Stops every child on exit paths (errors, Ctrl-C) so no server outlives the benchmark. */
export function stopOnExit(children: () => readonly Child[]): void {
  const kill = () => {
    for (const c of children()) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  };
  process.once('exit', kill);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      kill();
      process.exit(130);
    });
  }
}

/** Clock ticks per second for /proc times (USER_HZ; 100 on every mainstream Linux). */
const CLK_TCK = 100;

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat; undefined when gone. */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export interface MachineCpu {
  /** user + nice + system: time spent running processes (ours included). */
  processMs: number;
  /** irq + softirq: interrupt handling, e.g. loopback TCP processing not charged to a process. */
  irqMs: number;
  /** Time the hypervisor gave this VM's CPUs to someone else. */
  stealMs: number;
}

/** CPU time of the whole machine so far, in ms summed over all CPUs (/proc/stat). */
export function machineCpu(): MachineCpu | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const ms = (ticks: number) => (ticks * 1000) / CLK_TCK;
    const at = (i: number) => f[i] ?? 0;
    return { processMs: ms(at(0) + at(1) + at(2)), irqMs: ms(at(5) + at(6)), stealMs: ms(at(7)) };
  } catch {
    return undefined;
  }
}
