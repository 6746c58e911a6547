import type { EventBus } from '../events/bus.js';
import type { EgressEvent } from '../events/types.js';
import type { AuditStore } from '../store/audit-store.js';

export interface AuditRecorderOptions {
  /** Most records held in memory while the store fails (default 100,000); batches beyond it are dropped and counted. */
  maxQueuedRecords?: number;
  /** First retry delay (default 100 ms), doubled per failure up to `retryMaxMs` (default 30 s), with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** An append failed; the records stay queued and are retried. */
  onError?: (err: unknown, queuedRecords: number) => void;
  /** Records were dropped because the queue was full (never silently: this is called every time). */
  onDrop?: (dropped: number, droppedTotal: number) => void;
}

export interface AuditRecorderStats {
  appended: number;
  queued: number;
  dropped: number;
  failures: number;
  lastError?: string;
}

/**
 * Turns event-bus batches into audit records. Appends run one at a time (batches that arrive meanwhile are merged
 * into the next), so records keep bus order; when the store fails, the records wait in a bounded queue and are retried
 * with exponential backoff.
 */
export class AuditRecorder {
  private queue: EgressEvent[][] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closing = false;
  private unsubscribe: (() => void) | undefined;
  private readonly counters: AuditRecorderStats = { appended: 0, queued: 0, dropped: 0, failures: 0 };
  private readonly maxQueued: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly store: AuditStore,
    private readonly opts: AuditRecorderOptions = {},
  ) {
    this.maxQueued = opts.maxQueuedRecords ?? 100_000;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
  }

  /** Subscribes to the bus; `bus.flush()` then resolves once the flushed events are durable (or queued for retry). */
  attach(bus: EventBus): void {
    this.unsubscribe = bus.subscribe((batch) => this.record(batch));
  }

  /** Queues a batch and resolves when it is durable, or when the store is failing and it waits for a retry. */
  record(batch: readonly EgressEvent[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    if (this.queued + batch.length > this.maxQueued) {
      this.counters.dropped += batch.length;
      this.opts.onDrop?.(batch.length, this.counters.dropped);
      return Promise.resolve();
    }
    this.queue.push([...batch]);
    this.queued += batch.length;
    return this.kick();
  }

  stats(): AuditRecorderStats {
    return { ...this.counters, queued: this.queued };
  }

  /** Unsubscribes and tries once more to write what is queued; what still fails is counted as dropped and reported. */
  async close(): Promise<AuditRecorderStats> {
    this.unsubscribe?.();
    this.closing = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    await this.running;
    await this.kick();
    if (this.queued > 0) {
      this.counters.dropped += this.queued;
      this.opts.onDrop?.(this.queued, this.counters.dropped);
      this.queue = [];
      this.queued = 0;
    }
    return this.stats();
  }

  private kick(): Promise<void> {
    if (this.retryTimer) return Promise.resolve();
    this.running ??= this.pump().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const take = this.queue;
      this.queue = [];
      const events = take.length === 1 ? take[0]! : take.flat();
      try {
        await this.store.append(events);
      } catch (err) {
        this.queue = [...take, ...this.queue];
        this.counters.failures++;
        this.counters.lastError = (err as Error).message;
        this.opts.onError?.(err, this.queued);
        this.scheduleRetry();
        return;
      }
      this.queued -= events.length;
      this.counters.appended += events.length;
      this.attempt = 0;
    }
  }

  private scheduleRetry(): void {
    if (this.closing) return;
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.kick();
    }, delay);
    this.retryTimer.unref();
  }
}
