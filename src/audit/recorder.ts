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
  /** One record the store refused for a reason other than I/O (it cannot be written, ever); it is dropped so the rest go on. */
  onPoison?: (err: unknown, event: EgressEvent) => void;
  /** Appends succeed again after failing. */
  onRecovered?: (failedForMs: number) => void;
}

export interface AuditRecorderStats {
  appended: number;
  queued: number;
  dropped: number;
  failures: number;
  /** Records the store refused for a non-I/O reason, dropped one by one after splitting their batch. */
  poisoned: number;
  /** The last append failed and its records wait for a retry. */
  failing: boolean;
  /** `time` of the oldest event handed to the recorder and not yet durable (being appended or queued). */
  oldestPending?: string;
  failingSince?: number;
  lastError?: string;
}

/** An error from the file system or the network (ENOSPC, EIO, EROFS, ECONNRESET...): worth retrying as it is. */
export function isIoError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/**
 * Turns event-bus batches into audit records. Appends run one at a time (batches that arrive meanwhile are merged
 * into the next), so records keep bus order; when the store fails with an I/O error, the records wait in a bounded queue
 * and are retried with exponential backoff. Any other failure cannot heal by waiting: the batch is split until the
 * record that causes it is alone, and that one is dropped and reported, so one bad record never blocks the log.
 */
export class AuditRecorder {
  private queue: EgressEvent[][] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** How many batches at the head of the queue are halves of a split and must be appended alone. */
  private solo = 0;
  private inflight: readonly EgressEvent[] | undefined;
  private closing = false;
  private unsubscribe: (() => void) | undefined;
  private readonly counters: AuditRecorderStats = { appended: 0, queued: 0, dropped: 0, failures: 0, poisoned: 0, failing: false };
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
    const oldest = this.inflight?.[0]?.time ?? this.queue[0]?.[0]?.time;
    return { ...this.counters, queued: this.queued, ...(oldest ? { oldestPending: oldest } : {}) };
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
      // Halves of a split batch go alone, so that the refused record ends up alone; everything else is merged.
      const solo = this.solo > 0;
      const take = solo ? this.queue.splice(0, 1) : this.queue.splice(0);
      if (solo) this.solo--;
      const events = take.length === 1 ? take[0]! : take.flat();
      this.inflight = events;
      try {
        await this.store.append(events);
      } catch (err) {
        this.inflight = undefined;
        this.counters.failures++;
        this.counters.lastError = (err as Error).message;
        if (!isIoError(err) && !this.closing) {
          this.isolate(events, err);
          continue;
        }
        this.queue = [...take, ...this.queue];
        if (solo) this.solo++;
        this.counters.failing = true;
        this.counters.failingSince ??= Date.now();
        this.opts.onError?.(err, this.queued);
        this.scheduleRetry();
        return;
      }
      this.inflight = undefined;
      this.queued -= events.length;
      this.counters.appended += events.length;
      this.attempt = 0;
      if (this.counters.failing) {
        const since = this.counters.failingSince ?? Date.now();
        this.counters.failing = false;
        this.counters.failingSince = undefined;
        this.opts.onRecovered?.(Date.now() - since);
      }
    }
  }

  /** Splits a batch the store refused for a non-I/O reason; a single refused record is dropped and reported. */
  private isolate(events: readonly EgressEvent[], err: unknown): void {
    if (events.length === 1) {
      this.queued--;
      this.counters.poisoned++;
      this.counters.dropped++;
      this.opts.onPoison?.(err, events[0]!);
      return;
    }
    const half = Math.ceil(events.length / 2);
    this.queue = [events.slice(0, half), events.slice(half), ...this.queue];
    this.solo += 2;
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
