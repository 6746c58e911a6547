import { SHARE_ENV, Worker } from 'node:worker_threads';
import { CST_PARSE_BYTES, type LimitName, type ParseResult } from '../policy/parse.js';
import { parsePolicyUpdate } from '../policy/secrets.js';
import { preparePolicy, type PrepareResult } from './policy-prepare.js';

export interface PolicyParserOptions {
  /** A parse still running after this long is stopped and answered as a problem (default 30 s: a 100,000-rule policy takes ~6 s on a busy 2-core VM). */
  timeoutMs?: number;
  /** Heap of the parse worker; a document that needs more is refused, the process is unaffected (default 512 MB: a 13 MB, 100,000-rule policy peaks near 300 MB). */
  maxHeapMb?: number;
  /** Start the worker now rather than at the first parse (loading takes about a second; the time limit starts after). Default false. */
  eager?: boolean;
  /** End the worker after this long without a job, giving its heap back (default: never; a worker after a document over 1 MiB is always ended). */
  idleMs?: number;
}

type Job =
  | { kind: 'parse'; text: string; known: ReadonlyMap<string, string>; resolve: (r: ParseResult) => void }
  | { kind: 'prepare'; text: string; known: ReadonlyMap<string, string> | undefined; resolve: (r: PrepareResult) => void };

/**
 * Parses untrusted policy text in a worker thread, one document at a time, so YAML parsing never runs on the
 * event loop that answers Envoy's Checks. A document that exhausts the worker's time or heap is refused and
 * the worker replaced.
 */
export class PolicyParser {
  private worker: Worker | undefined;
  private workerReady = false;
  private readonly jobs: Job[] = [];
  private running: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly maxHeapMb: number;
  /** Ends an idle worker (its heap is the last parse's garbage until then); the next parse starts another. */
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;

  constructor(opts: PolicyParserOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxHeapMb = opts.maxHeapMb ?? 512;
    this.idleMs = opts.idleMs ?? 0;
    if (opts.eager) this.ensureWorker();
  }

  /** Parses within the limits and puts back secrets whose placeholders the text holds (`known`: fingerprint → secret). */
  parse(text: string, known: ReadonlyMap<string, string> = new Map()): Promise<ParseResult> {
    if (this.closed) return Promise.resolve(parsePolicyUpdate(text, known));
    return new Promise((resolve) => {
      this.jobs.push({ kind: 'parse', text, known, resolve });
      this.pump();
    });
  }

  /** Parses and validates (see `preparePolicy`) in the worker; with `known`, secret placeholders are put back. */
  prepare(text: string, known?: ReadonlyMap<string, string>): Promise<PrepareResult> {
    if (this.closed) return Promise.resolve(preparePolicy(text, known));
    return new Promise((resolve) => {
      this.jobs.push({ kind: 'prepare', text, known, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const w = this.worker;
    this.worker = undefined;
    if (this.running) this.finish({ ok: false, problems: [{ path: '(document)', message: 'not parsed: the server is shutting down' }] });
    for (const job of this.jobs.splice(0)) answerInThread(job);
    if (w) await w.terminate();
  }

  private pump(): void {
    if (this.running || this.jobs.length === 0 || this.closed) return;
    const worker = this.ensureWorker();
    if (!this.workerReady) return; // the 'ready' message pumps again
    const job = this.jobs.shift()!;
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.finish(refused('parseTimeoutMs', this.timeoutMs, `policy document took longer than ${this.timeoutMs} ms to parse (parseTimeoutMs)`));
      this.replaceWorker();
    }, this.timeoutMs);
    timer.unref();
    this.running = { id, job, timer };
    worker.postMessage({ id, kind: job.kind, text: job.text, known: job.known });
  }

  private finish(result: ParseResult | PrepareResult): void {
    const r = this.running;
    if (!r) return;
    clearTimeout(r.timer);
    this.running = undefined;
    (r.job.resolve as (x: ParseResult | PrepareResult) => void)(result);
    // A large document leaves hundreds of MB in the worker's heap: end the worker so the process gives them back.
    if (r.job.text.length > CST_PARSE_BYTES) this.replaceWorker();
    else this.pump();
    this.idleTimer?.refresh();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // SHARE_ENV: validation reads secrets from the environment (scrub fingerprint key, alert webhooks) as the server sees it now.
    const worker = new Worker(new URL('./policy-parse-worker.mjs', import.meta.url), { env: SHARE_ENV, resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb } });
    worker.unref();
    this.workerReady = false;
    worker.on('message', (msg: { ready?: true; id?: number; result?: ParseResult | PrepareResult }) => {
      if (this.worker !== worker) return;
      if (msg.ready) {
        this.workerReady = true;
        this.pump();
      } else if (this.running?.id === msg.id && msg.result) this.finish(msg.result);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.running) {
        // Failed before it could take a job (it did not load): answer the queue in-thread rather than never.
        for (const job of this.jobs.splice(0)) job.resolve({ ok: false, problems: [{ path: '(document)', message: `policy parser could not start: ${err.message}` }] });
        return;
      }
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.finish(
        oom
          ? refused('parseHeapMb', this.maxHeapMb, `policy document needs more than ${this.maxHeapMb} MB to parse (parseHeapMb)`)
          : { ok: false, problems: [{ path: '(document)', message: `policy parser failed: ${err.message}` }] },
      );
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const job of this.running ? [] : this.jobs.splice(0)) job.resolve({ ok: false, problems: [{ path: '(document)', message: 'policy parser stopped before it could start' }] });
      this.finish({ ok: false, problems: [{ path: '(document)', message: 'policy parser stopped unexpectedly' }] });
    });
    this.worker = worker;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleMs > 0) {
      const timer = setTimeout(() => {
        if (this.worker !== worker) return;
        if (!this.running && this.jobs.length === 0) this.replaceWorker();
        else timer.refresh();
      }, this.idleMs);
      timer.unref();
      this.idleTimer = timer;
    }
    return worker;
  }

  private replaceWorker(): void {
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
    this.pump();
  }
}

function answerInThread(job: Job): void {
  if (job.kind === 'parse') job.resolve(parsePolicyUpdate(job.text, job.known));
  else job.resolve(preparePolicy(job.text, job.known));
}

function refused(name: LimitName, value: number, message: string): ParseResult {
  return { ok: false, problems: [{ path: '(document)', message }], limit: { name, value } };
}
