import { readFileSync, rmSync } from 'node:fs';
import { commandExists, pinned, run } from './proc.js';
import { summarize, type Summary } from './stats.js';

export const H2LOAD = 'h2load';

/** Exits with a clear message when h2load (Debian/Ubuntu: nghttp2-client) is not installed. */
export function requireH2load(): void {
  if (commandExists(H2LOAD)) return;
  console.error('h2load not found on PATH. Install it with:\n  sudo apt-get install nghttp2-client\n(macOS: brew install nghttp2)');
  process.exit(1);
}

export interface H2loadOptions {
  url: string;
  /** Request body file (POST); for gRPC a length-prefixed message. */
  dataFile?: string;
  headers?: readonly string[];
  clients: number;
  /** Max concurrent streams per client (-m). */
  streams: number;
  threads?: number;
  /** -n; ignored when durationS is given. */
  requests?: number;
  durationS?: number;
  warmUpS?: number;
  /** Requests per second per client (--rps). */
  rpsPerClient?: number;
  /** Create connections gradually: -r conns per --rate-period (count-based runs only). */
  connectRate?: { conns: number; periodMs: number };
  logFile?: string;
  /** Pin h2load to this CPU with taskset. */
  cpu?: number;
}

export interface H2loadResult {
  command: string;
  /** CPU time h2load used (approximate, see run()). */
  cpuMs: number | undefined;
  reqPerSec: number;
  finishedS: number;
  requests: { total: number; started: number; done: number; succeeded: number; failed: number; errored: number; timeout: number };
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Response body bytes (DATA frames) received, warm-up included. */
  dataBytes: number;
  headerBytes: number;
  output: string;
}

export function h2loadArgs(o: H2loadOptions): string[] {
  const args = [`-t${o.threads ?? 1}`, `-c${o.clients}`, `-m${o.streams}`];
  if (o.durationS !== undefined) {
    args.push(`-D${o.durationS}`);
    if (o.warmUpS) args.push(`--warm-up-time=${o.warmUpS}`);
  } else {
    args.push(`-n${o.requests ?? 1000}`);
  }
  if (o.rpsPerClient !== undefined) args.push(`--rps=${o.rpsPerClient}`);
  if (o.connectRate) args.push(`-r${o.connectRate.conns}`, `--rate-period=${o.connectRate.periodMs}ms`);
  if (o.dataFile) args.push(`--data=${o.dataFile}`);
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.logFile) args.push(`--log-file=${o.logFile}`);
  args.push(o.url);
  return args;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Runs h2load and parses its summary. Throws when h2load fails to run. */
export async function runH2load(o: H2loadOptions): Promise<H2loadResult> {
  // h2load appends to an existing --log-file; start each run from an empty one.
  if (o.logFile) rmSync(o.logFile, { force: true });
  const [cmd, args] = pinned(o.cpu, H2LOAD, h2loadArgs(o));
  const command = [cmd, ...args].map(quote).join(' ');
  const res = await run(cmd, args);
  if (res.code !== 0) throw new Error(`h2load failed (${res.code}): ${command}\n${res.stdout}\n${res.stderr}`);
  return { command, cpuMs: res.cpuMs, ...parseH2loadOutput(res.stdout) };
}

export function parseH2loadOutput(out: string): Omit<H2loadResult, 'command' | 'cpuMs'> {
  const fin = out.match(/finished in ([\d.]+)(m?s), ([\d.]+) req\/s/);
  const req = out.match(/requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/);
  const st = out.match(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/);
  const traffic = out.match(/traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers .*?\((\d+)\) data/);
  if (!fin || !req || !st || !traffic) throw new Error(`cannot parse h2load output:\n${out}`);
  const n = (s: string | undefined) => Number(s);
  return {
    finishedS: fin[2] === 'ms' ? n(fin[1]) / 1000 : n(fin[1]),
    reqPerSec: n(fin[3]),
    requests: { total: n(req[1]), started: n(req[2]), done: n(req[3]), succeeded: n(req[4]), failed: n(req[5]), errored: n(req[6]), timeout: n(req[7]) },
    status: { '2xx': n(st[1]), '3xx': n(st[2]), '4xx': n(st[3]), '5xx': n(st[4]) },
    headerBytes: n(traffic[2]),
    dataBytes: n(traffic[3]),
    output: out,
  };
}

export interface LatencyLog {
  /** Per-request latency (µs until end of response), after dropping requests started in the warm-up. */
  latencyUs: Summary;
  requests: number;
  /** Requests per second over the logged span. */
  achievedRps: number;
  statusCounts: Record<string, number>;
}

/**
 * Parses an h2load --log-file (start µs since epoch, HTTP status, µs until end of response). Requests that
 * started within `skipFirstS` of the first request are dropped (warm-up).
 */
export function parseLatencyLog(path: string, skipFirstS = 0): LatencyLog {
  const rows: Array<[number, string, number]> = [];
  let first = Number.POSITIVE_INFINITY;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const [start, status, dur] = line.split('\t');
    const s = Number(start);
    rows.push([s, status ?? '', Number(dur)]);
    if (s < first) first = s;
  }
  const cutoff = first + skipFirstS * 1e6;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let minStart = Number.POSITIVE_INFINITY;
  let maxStart = 0;
  for (const [s, status, d] of rows) {
    if (s < cutoff) continue;
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    latencies.push(d);
    minStart = Math.min(minStart, s);
    maxStart = Math.max(maxStart, s);
  }
  const spanS = (maxStart - minStart) / 1e6;
  return { latencyUs: summarize(latencies), requests: latencies.length, achievedRps: spanS > 0 ? latencies.length / spanS : Number.NaN, statusCounts };
}

export interface OpenLoopPlan {
  clients: number;
  rpsPerClient: number;
  /** Total requests (-n) so that the run lasts about `durationS` at the planned rate. */
  requests: number;
  connectRate: { conns: number; periodMs: number };
}

/**
 * Options for an open-loop run at `totalRps` with h2load's --rps that approximates steady arrivals.
 *
 * h2load's rps timer fires at most every 10 ms, and clients connected together fire together, so "a few
 * clients at a high --rps" sends a burst of total/100 requests every 10 ms and the latency measured is
 * mostly that burst queueing behind itself. Here 10 clients (HTTP/2 connections, like Envoy workers
 * multiplexing Checks on their ext_authz connection) are connected 1 ms apart (-r 1 --rate-period=1ms),
 * so their 10 ms ticks interleave: a group of about total/1000 requests every millisecond. The rps timer
 * is clock-based, so the achieved rate does not drift; `streams` must exceed a client's group size.
 */
export function openLoopPlan(totalRps: number, durationS: number, clients = 10): OpenLoopPlan {
  const rpsPerClient = Math.round((totalRps / clients) * 1000) / 1000;
  return { clients, rpsPerClient, requests: Math.round(rpsPerClient * clients * durationS), connectRate: { conns: 1, periodMs: Math.max(1, Math.round(10 / clients)) } };
}
