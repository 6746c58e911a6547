import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EgressEvent } from '../../events/types.js';
import { encodeGroup, type EncodedGroup } from './audit-encode.js';

interface Job {
  id: number;
  events: readonly EgressEvent[];
  seq: number;
  prev: string;
  resolve: (g: EncodedGroup) => void;
}

export interface AuditEncoderStats {
  /** Groups encoded by the worker thread, and in-thread (while it starts, after it failed, or for an event it cannot be sent). */
  worker_groups: number;
  inline_groups: number;
  worker_failures: number;
}

/**
 * Runs `encodeGroup` (bounding, canonical JSON, the SHA-256 chain: about 20 µs per record) on a worker thread, so the
 * event loop that answers Envoy's Checks pays only for handing the events over (a structured clone, about 1–2 µs per
 * record). Never waits for the worker and never loses a group: while it starts, after it died, or for an event that
 * cannot be cloned (a function member), the group is encoded in-thread, which gives the same bytes.
 */
export class AuditEncoder {
  private worker: Worker | undefined;
  private ready = false;
  private running: Job | undefined;
  private nextId = 1;
  private closed = false;
  private failures = 0;
  private readyWaiters: Array<(ok: boolean) => void> = [];
  private readonly counters: AuditEncoderStats = { worker_groups: 0, inline_groups: 0, worker_failures: 0 };

  /**
   * `useWorker` defaults to whether this process may run on more than one CPU (`availableParallelism` follows the
   * affinity mask, so `taskset -c 0` or a one-CPU container counts as one): handing a group over costs more CPU in
   * all than encoding it in-thread (bench/audit/thread-cost.ts), which only pays off when the worker has a core of its own.
   */
  constructor(private readonly opts: { useWorker?: boolean; onWarn?: (message: string) => void } = {}) {
    if (opts.useWorker ?? availableParallelism() > 1) this.start();
  }

  /** One group at a time (the store commits serially: each group chains to the previous one's last hash). */
  encode(events: readonly EgressEvent[], seq: number, prev: string): Promise<EncodedGroup> {
    const w = this.worker;
    if (!w || !this.ready || this.running || this.closed) return Promise.resolve(this.inline(events, seq, prev));
    return new Promise((resolve) => {
      const job: Job = { id: this.nextId++, events, seq, prev, resolve };
      try {
        w.postMessage({ id: job.id, events, seq, prev });
      } catch {
        // An event the structured clone refuses (a function, a symbol): boundEvent stubs it in-thread.
        resolve(this.inline(events, seq, prev));
        return;
      }
      // Held while a group is out: a process with nothing else to do must not exit with records half written.
      w.ref();
      this.running = job;
    });
  }

  /** Resolves true once the worker has loaded, false when there is none (disabled, closed, or it failed to start). */
  whenReady(): Promise<boolean> {
    if (this.ready && this.worker) return Promise.resolve(true);
    if (!this.worker || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private wake(ok: boolean): void {
    for (const w of this.readyWaiters.splice(0)) w(ok);
  }

  stats(): AuditEncoderStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.settleInline();
    this.wake(false);
    if (w) await w.terminate();
  }

  private inline(events: readonly EgressEvent[], seq: number, prev: string): EncodedGroup {
    this.counters.inline_groups++;
    return encodeGroup(events, seq, prev);
  }

  /** The running job (if any) is encoded in-thread: the worker is gone or failed it. */
  private settleInline(): void {
    const job = this.running;
    this.running = undefined;
    if (job) job.resolve(this.inline(job.events, job.seq, job.prev));
  }

  private start(): void {
    const worker = new Worker(new URL('./audit-encode-worker.mjs', import.meta.url));
    worker.unref();
    this.worker = worker;
    this.ready = false;
    worker.on('message', (msg: { ready?: true; id?: number; group?: EncodedGroup; error?: string }) => {
      if (this.worker !== worker) return;
      if (msg.ready) {
        this.ready = true;
        this.failures = 0;
        this.wake(true);
        return;
      }
      const job = this.running;
      if (!job || job.id !== msg.id) return;
      this.running = undefined;
      worker.unref();
      if (msg.group) {
        this.counters.worker_groups++;
        job.resolve(msg.group);
      } else job.resolve(this.inline(job.events, job.seq, job.prev));
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = false;
      this.counters.worker_failures++;
      this.settleInline();
      if (this.closed || this.failures >= 3) this.wake(false);
      if (this.closed) return;
      this.opts.onWarn?.(`audit: the encoder worker ${why}; encoding in-thread${this.failures < 3 ? ' and restarting it' : ''}`);
      // A worker that keeps dying (cannot load) is not restarted forever: the in-thread path is correct, only slower.
      if (++this.failures <= 3) this.start();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
  }
}
