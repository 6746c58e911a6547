import type { RetryConfig } from './schema.js';
import { payloadFor } from './payload.js';
import type { ResolvedSink } from './plan.js';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from './signature.js';
import { TokenBucket } from './token-bucket.js';
import type { Alert, DeliveryResult } from './types.js';

export interface DeliveryDeps {
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Full jitter: a uniform wait in [0, min(maxMs, baseMs × 2^(attempt−1))), so retrying senders spread out. */
export function backoffDelay(attempt: number, retry: RetryConfig, random: () => number): number {
  return Math.floor(random() * Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1)));
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

type AttemptOutcome = { ok: true; status: number } | { ok: false; retry: boolean; status?: number; error: string };

/**
 * One sink: a token bucket and the HTTP delivery with retries. An alert over the rate limit is not
 * queued: it fails at once with reason "rate limited" and lands in the dead-letter list, because in an
 * alert storm a queue would only deliver stale alerts late.
 */
export class SinkDispatcher {
  private readonly bucket: TokenBucket;

  constructor(
    readonly sink: ResolvedSink,
    private readonly deps: DeliveryDeps,
    /** The fleet's bucket (Redis) when replicas share alert state; the local bucket stands in while it is unreachable. */
    private readonly fleetToken?: (sink: string, perMinute: number) => Promise<boolean>,
  ) {
    this.bucket = new TokenBucket(sink.maxPerMinute, deps.now);
  }

  private async allowed(): Promise<boolean> {
    if (!this.fleetToken) return this.bucket.tryTake();
    return this.fleetToken(this.sink.name, this.sink.maxPerMinute).catch(() => this.bucket.tryTake());
  }

  /** Delivers `alert`, updating `progress` in place after each attempt (so history shows `pending` with its attempts). */
  async send(alert: Alert, retry: RetryConfig, progress: DeliveryResult, signal: AbortSignal): Promise<DeliveryResult> {
    if (!(await this.allowed())) {
      progress.state = 'failed';
      progress.error = `rate limited: sink "${this.sink.name}" allows ${this.sink.maxPerMinute} alerts per minute`;
      return progress;
    }
    const body = JSON.stringify(payloadFor(this.sink.type, alert));
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      const outcome = await this.attempt(body, signal);
      progress.attempts = attempt;
      progress.status = outcome.status;
      if (outcome.ok) {
        progress.state = 'delivered';
        progress.error = undefined;
        progress.delivered_at = new Date(this.deps.now()).toISOString();
        return progress;
      }
      progress.error = outcome.error;
      if (!outcome.retry || attempt === retry.attempts || signal.aborted) break;
      await this.deps.sleep(backoffDelay(attempt, retry, this.deps.random), signal);
      if (signal.aborted) break;
    }
    progress.state = 'failed';
    if (signal.aborted) progress.error = `${progress.error ?? 'not sent'} (gave up: alert engine stopped)`;
    return progress;
  }

  private async attempt(body: string, signal: AbortSignal): Promise<AttemptOutcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'tollgate-alerts/1' };
    if (this.sink.secret) {
      const timestamp = Math.floor(this.deps.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      headers[SIGNATURE_HEADER] = signBody(this.sink.secret, timestamp, body);
    }
    try {
      const res = await this.deps.fetch(this.sink.url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.any([signal, AbortSignal.timeout(this.sink.timeoutMs)]) });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      return { ok: false, retry: retryable, status: res.status, error: `HTTP ${res.status}${retryable ? '' : ' (not retried)'}` };
    } catch (err) {
      return { ok: false, retry: true, error: describeError(err, this.sink.timeoutMs) };
    }
  }
}

/** Never the URL: a Slack webhook URL is itself a secret. */
function describeError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted';
  if (e.cause?.code) return `network error: ${e.cause.code}`;
  return 'network error';
}
