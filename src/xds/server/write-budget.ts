/**
 * Bounds the response bytes handed to grpc-js and not yet written out, across every ADS stream of a server.
 *
 * grpc-js copies each message into a new framed buffer (server-interceptors.js ServerInterceptingCall
 * serializeMessage: `Buffer.allocUnsafe(byteLength + 5)`), held by the HTTP/2 stream until it is flushed, and calls
 * the write callback only then. A first sync at 10,000 destinations is ~10 MB per stream, so 200 Envoys connecting
 * at once held ~2 GB of copies. With the budget, a large response waits (its stream is pushed again when bytes are
 * released) while others are in flight; small responses (a usual update) always go, so they never queue behind a sync.
 */

/** What the budget wakes: the stream's push entry point (AdsStream.flush). */
export interface Waiter {
  flush(): void;
}

/**
 * In-flight bytes above which large responses wait. At 10,000 destinations, 100 SotW + 100 delta streams syncing at
 * once (bench/xds, load 5-8): 64 MiB held RSS at 518 MiB but the sync took 25.6 s; 256 MiB 698 MiB and 10.3 s
 * (no budget: 1,453 MiB, 29.3 s).
 */
export const WRITE_BUDGET_BYTES = 256 * 2 ** 20;
/** Responses up to this size are never held back. */
export const SMALL_RESPONSE_BYTES = 64 * 2 ** 10;

export class WriteBudget {
  private inflight = 0;
  /** Streams waiting, in arrival order, with the size they asked for. */
  private readonly waiting = new Map<Waiter, number>();

  constructor(
    private readonly maxBytes = WRITE_BUDGET_BYTES,
    private readonly smallBytes = SMALL_RESPONSE_BYTES,
    /** How a woken stream is pushed: the push queue, or by default on the next event-loop turn. */
    private readonly wake: (w: Waiter) => void = (w) => setImmediate(() => w.flush()),
  ) {}

  /** Bytes written and not yet flushed by grpc-js. */
  get bytesInFlight(): number {
    return this.inflight;
  }

  get waiters(): number {
    return this.waiting.size;
  }

  /**
   * Whether a response of `size` bytes may be written now. When not, the stream is remembered and woken once the
   * bytes in flight have dropped enough; the first large response always goes, so none waits forever.
   */
  admit(waiter: Waiter, size: number): boolean {
    if (size <= this.smallBytes || this.inflight === 0 || this.inflight + size <= this.maxBytes) {
      this.waiting.delete(waiter);
      return true;
    }
    this.waiting.set(waiter, size);
    return false;
  }

  take(size: number): void {
    this.inflight += size;
  }

  /** Bytes flushed (or dropped with their stream); wakes waiting streams, in order, as far as they fit. */
  release(size: number): void {
    this.inflight = Math.max(0, this.inflight - size);
    let planned = this.inflight;
    for (const [waiter, want] of this.waiting) {
      if (planned !== 0 && planned + want > this.maxBytes) break;
      this.waiting.delete(waiter);
      planned += want;
      this.wake(waiter);
    }
  }

  /**
   * A stream pushed (woken, or for any other reason) that wrote nothing and is not waiting: the room `release` planned
   * for it goes to the streams queued behind it, which would otherwise wait for some later write's release (and on a
   * quiet server there may be none).
   */
  pass(): void {
    if (this.waiting.size > 0) this.release(0);
  }

  /** A closed stream waits no more. */
  forget(waiter: Waiter): void {
    this.waiting.delete(waiter);
  }
}
