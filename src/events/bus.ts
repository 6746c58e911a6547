import type { EgressEvent } from './types.js';

export type EventBatchHandler = (batch: readonly EgressEvent[]) => void | Promise<void>;

export interface EventBusOptions {
  /** Flush when this many events are queued (default 512). */
  maxBatch?: number;
  /** Flush at least this often (default 20 ms). */
  maxDelayMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * In-process event bus. `publish` is an array push on the request hot path; subscribers receive
 * batches off the hot path (after at most `maxDelayMs`, or at `maxBatch` events). `flush()` hands out
 * what is queued now and waits for subscribers (shutdown, tests).
 */
export class EventBus {
  private queue: EgressEvent[] = [];
  private readonly handlers = new Set<EventBatchHandler>();
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<unknown> = Promise.resolve();
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly onError: (err: unknown) => void;

  constructor(opts: EventBusOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 512;
    this.maxDelayMs = opts.maxDelayMs ?? 20;
    this.onError = opts.onError ?? (() => undefined);
  }

  subscribe(handler: EventBatchHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  publish(event: EgressEvent): void {
    if (this.handlers.size === 0) return;
    this.queue.push(event);
    if (this.queue.length >= this.maxBatch) this.dispatch();
    else if (!this.timer) this.timer = setTimeout(() => this.dispatch(), this.maxDelayMs);
  }

  /** Dispatches everything queued and resolves when every subscriber has handled it. */
  async flush(): Promise<void> {
    this.dispatch();
    await this.inflight;
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const runs = [...this.handlers].map(async (h) => {
      try {
        await h(batch);
      } catch (err) {
        this.onError(err);
      }
    });
    this.inflight = Promise.all([this.inflight, ...runs]);
  }
}
