/**
 * What the policy benchmarks share: a Tollgate child serving a generated policy, the Envoy-shaped Check frame that
 * policy allows (bench/authz/policy-gen.ts TARGET), an open-loop h2load run returning every latency, and a timed PUT.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLoopPlan, runH2load } from '../lib/h2load.js';
import { Child, freePort } from '../lib/proc.js';
import { EnvoyExtAuthzDriver } from '../../test/drivers/envoy-ext-authz-driver.js';
import { writeCheckFrame as writeFrame } from '../authz/check-frame.js';
import { REQUEST } from '../authz/policy-gen.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export { REQUEST };

/** Writes the gRPC-framed CheckRequest for h2load --data and returns its path. */
export function writeCheckFrame(dir: string): string {
  return writeFrame(dir).file;
}

export interface Tollgate {
  child: Child;
  grpcPort: number;
  adminPort: number;
  dataDir: string;
  /** Spawn to /readyz answering 200 (policy loaded and compiled, every port bound). */
  startupMs: number;
}

/** Starts `tollgate serve` on `policyFile` (a fresh data directory unless `dataDir` is given), pinned to `cpu`. */
export async function startTollgate(work: string, policyFile: string, opts: { cpu?: number; dataDir?: string; env?: NodeJS.ProcessEnv; nodeFlags?: string[] } = {}): Promise<Tollgate> {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const dataDir = opts.dataDir ?? mkdtempSync(join(work, 'data-'));
  const t0 = performance.now();
  const child = new Child(
    process.execPath,
    [...(opts.nodeFlags ?? []), join(ROOT, 'bin/tollgate.js'), 'serve', '--policy', policyFile, '--grpc', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`, '--data', dataDir],
    { cwd: ROOT, cpu: opts.cpu, stdout: 'ignore', env: { ...process.env, ...opts.env } },
  );
  await child.waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, 120_000);
  return { child, grpcPort, adminPort, dataDir, startupMs: Math.round(performance.now() - t0) };
}

/** Asks the running server for one real decision on REQUEST; throws unless it is an allow. */
export async function expectAllow(t: Tollgate): Promise<void> {
  const driver = new EnvoyExtAuthzDriver(t.grpcPort);
  const outcome = await driver.check(REQUEST);
  driver.close();
  if (!outcome.allowed || outcome.grpcStatus !== 0) throw new Error(`Tollgate did not allow the benchmark request (grpc ${outcome.grpcStatus})`);
}

/** PUT /v1/policy; resolves with the HTTP status and how long the answer took. */
export async function putPolicy(t: Tollgate, text: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${t.adminPort}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: text });
  const body = await res.text();
  return { status: res.status, ms: Math.round(performance.now() - t0), body: body.slice(0, 300) };
}

export interface OpenLoop {
  targetRps: number;
  achievedRps: number;
  /** Every request's latency in µs, warm-up dropped. */
  latenciesUs: number[];
  non200: number;
}

/** h2load at `rps` spread over 10 connections (openLoopPlan) for `durationS`, dropping the first `warmUpS`. */
export async function openLoop(t: Tollgate, frame: string, logFile: string, rps: number, durationS: number, warmUpS: number, cpu?: number): Promise<OpenLoop> {
  const plan = openLoopPlan(rps, durationS + warmUpS, 10);
  await runH2load({
    url: `http://127.0.0.1:${t.grpcPort}/envoy.service.auth.v3.Authorization/Check`,
    dataFile: frame,
    headers: ['content-type: application/grpc', 'te: trailers'],
    threads: 1,
    cpu,
    clients: plan.clients,
    streams: 64,
    requests: plan.requests,
    rpsPerClient: plan.rpsPerClient,
    connectRate: plan.connectRate,
    logFile,
  });
  const rows = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t').map(Number) as [number, number, number]);
  const first = rows.reduce((m, r) => Math.min(m, r[0]), Number.POSITIVE_INFINITY);
  const kept = rows.filter((r) => r[0] >= first + warmUpS * 1e6);
  const span = (kept.reduce((m, r) => Math.max(m, r[0]), 0) - kept.reduce((m, r) => Math.min(m, r[0]), Number.POSITIVE_INFINITY)) / 1e6;
  return { targetRps: rps, achievedRps: span > 0 ? kept.length / span : Number.NaN, latenciesUs: kept.map((r) => r[2]), non200: kept.filter((r) => r[1] !== 200).length };
}
