/**
 * Load generator process for the ext_proc benchmark (started by run.ts, one or more per measurement).
 * Plays Envoy's ext_proc streams (see wire.ts; HTTP/2 by h2conn.ts) over `--conns` connections, like
 * Envoy worker threads sharing their ext_proc cluster connections.
 *
 *   closed loop: `--concurrency N` streams in flight, each starting the next request when one finishes
 *                (peak throughput);
 *   open loop:   `--rate R` arrivals per second, paced: a timer tick about every millisecond starts every
 *                request whose scheduled time has come, whether or not earlier ones finished (latency).
 *
 * Protocol on stdio: prints `ready` once connected and the reference exchange checked, waits for `go` on
 * stdin (so several client processes start together), runs `--warmup` + `--duration` seconds, prints
 * one JSON line (`result {...}`) and exits. Latency is from opening the stream (sending request_headers)
 * to the reply to request_body; in open loop the lag between a request's scheduled and actual start is
 * reported too (the client's own timer jitter, so it can be told apart from the server's latency).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { H2Conn } from './h2conn.js';
import { connect, exchange, type Exchange, type Expectation } from './wire.js';

const { values: a } = parseArgs({
  options: {
    port: { type: 'string' },
    /** JSON: { exchange: {name, headersFrame, bodyFrame} (base64), expect } written by run.ts. */
    spec: { type: 'string' },
    conns: { type: 'string', default: '2' },
    concurrency: { type: 'string' },
    rate: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    /** Open loop: give up on requests still outstanding this long after the last arrival. */
    drain: { type: 'string', default: '5' },
  },
});

export interface ClientResult {
  mode: 'closed' | 'open';
  concurrency?: number;
  rate?: number;
  /** Requests completed (closed) or scheduled (open) in the measurement window. */
  measured: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  /** Open loop: requests started in the window that had not finished when the client gave up. */
  timedOut: number;
  windowS: number;
  reqPerSec: number;
  /** Latencies (µs) of the requests in the measurement window. */
  latUs: number[];
  /** Open loop: scheduled-to-actual start lag (µs) of the requests in the window. */
  lagUs: number[];
  /** CPU time of this process over warm-up + window, in ms, and as % of one core over that wall time. */
  cpuUserMs: number;
  cpuSystemMs: number;
  cpuPct: number;
  wallS: number;
}

interface Spec {
  exchange: { name: string; headersFrame: string; bodyFrame: string };
  expect: Expectation;
}

async function main(): Promise<void> {
  const port = Number(a.port);
  const spec = JSON.parse(readFileSync(a.spec!, 'utf8')) as Spec;
  const ex: Exchange = {
    name: spec.exchange.name,
    headers: [],
    body: Buffer.alloc(0),
    headersFrame: Buffer.from(spec.exchange.headersFrame, 'base64'),
    bodyFrame: Buffer.from(spec.exchange.bodyFrame, 'base64'),
  };
  const expect = spec.expect;
  const sessions: H2Conn[] = [];
  for (let i = 0; i < Number(a.conns); i++) sessions.push(await connect(port));
  // One checked exchange per connection before reporting ready.
  for (const s of sessions) await exchange(s, ex, expect);

  console.log('ready');
  await new Promise<void>((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (l) => {
      if (l.trim() === 'go') {
        rl.close();
        resolve();
      }
    });
  });

  const warmupMs = Number(a.warmup) * 1000;
  const durationMs = Number(a.duration) * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const to = from + durationMs;
  const latUs: number[] = [];
  const lagUs: number[] = [];
  let completed = 0;
  let errors = 0;
  let measured = 0;
  let timedOut = 0;
  const errorSamples: string[] = [];
  const onError = (err: unknown) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push((err as Error).message);
  };
  let result: Omit<ClientResult, 'cpuUserMs' | 'cpuSystemMs' | 'cpuPct' | 'wallS'>;

  if (a.concurrency !== undefined) {
    const n = Number(a.concurrency);
    const worker = async (i: number) => {
      const s = sessions[i % sessions.length]!;
      for (;;) {
        const start = performance.now();
        if (start >= to) return;
        try {
          const r = await exchange(s, ex, expect);
          completed++;
          if (r.endMs >= from && r.endMs < to) {
            measured++;
            latUs.push(Math.round((r.endMs - start) * 1000));
          }
        } catch (err) {
          onError(err);
        }
      }
    };
    await Promise.all(Array.from({ length: n }, (_, i) => worker(i)));
    result = { mode: 'closed', concurrency: n, measured, completed, errors, errorSamples, timedOut: 0, windowS: durationMs / 1000, reqPerSec: measured / (durationMs / 1000), latUs, lagUs };
  } else {
    const rate = Number(a.rate);
    const interval = 1000 / rate;
    let next = t0;
    let seq = 0;
    let outstanding = 0;
    const inWindow = new Set<number>();
    let allSent!: () => void;
    const sent = new Promise<void>((r) => (allSent = r));
    const fire = (scheduled: number, id: number) => {
      const start = performance.now();
      const counted = scheduled >= from && scheduled < to;
      if (counted) {
        measured++;
        inWindow.add(id);
        lagUs.push(Math.round((start - scheduled) * 1000));
      }
      outstanding++;
      exchange(sessions[id % sessions.length]!, ex, expect).then(
        (r) => {
          outstanding--;
          completed++;
          if (counted && inWindow.delete(id)) latUs.push(Math.round((r.endMs - start) * 1000));
        },
        (err: unknown) => {
          outstanding--;
          if (counted) inWindow.delete(id);
          onError(err);
        },
      );
    };
    const tick = () => {
      const now = performance.now();
      while (next <= now && next < to) {
        fire(next, seq++);
        next = t0 + seq * interval;
      }
      if (next >= to) allSent();
      else setTimeout(tick, Math.max(0, Math.min(1, next - performance.now())));
    };
    tick();
    await sent;
    const giveUp = performance.now() + Number(a.drain) * 1000;
    while (outstanding > 0 && performance.now() < giveUp) await new Promise((r) => setTimeout(r, 5));
    timedOut = inWindow.size;
    result = { mode: 'open', rate, measured, completed, errors, errorSamples, timedOut, windowS: durationMs / 1000, reqPerSec: (measured - timedOut) / (durationMs / 1000), latUs, lagUs };
  }

  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const out: ClientResult = { ...result, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100, wallS: wallMs / 1000 };
  for (const s of sessions) s.destroy();
  process.stdout.write(`result ${JSON.stringify(out)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
