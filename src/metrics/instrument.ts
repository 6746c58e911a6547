import type { Logger } from 'pino';
import type { ScrubSink } from '../audit/scrub-log.js';
import type { CallerCheck } from '../auth/envoy-token.js';
import type { EventBatchHandler } from '../events/bus.js';
import type { AuditStore } from '../store/audit-store.js';
import type { PublishResult } from '../xds/publisher.js';
import type { XdsStatus } from '../xds/status.js';
import { xdsTypeLabel, type Metrics } from './registry.js';

/**
 * Counts each ext_proc stream by outcome and its findings by type and action (the record holds no values). A record
 * lists the first 1000 findings and counts every one by type; the rest take the action the stream applied to that type.
 */
export function scrubMetricsSink(metrics: Metrics): ScrubSink {
  return {
    record(r) {
      metrics.extprocStreams.inc({ outcome: r.outcome });
      if (r.phone_unvalidated) metrics.extprocPhoneBudgetExhausted.inc();
      const listed = new Map<string, { n: number; action: string }>();
      for (const f of r.findings) {
        metrics.extprocFindings.inc({ type: f.type, action: f.action });
        const seen = listed.get(f.type);
        listed.set(f.type, { n: (seen?.n ?? 0) + 1, action: f.action });
      }
      for (const [type, total] of Object.entries(r.counts)) {
        const rest = total - (listed.get(type)?.n ?? 0);
        if (rest > 0) metrics.extprocFindings.inc({ type, action: listed.get(type)?.action ?? 'unlisted' }, rest);
      }
    },
  };
}

/** Counts the access log entries Envoy streams to ALS. */
export function accessLogCounter(metrics: Metrics): EventBatchHandler {
  return (batch) => {
    let n = 0;
    for (const e of batch) if (e.kind === 'access') n++;
    if (n > 0) metrics.alsEntries.inc(n);
  };
}

/** The ALS caller check, counting the streams it refuses. */
export function countRefusals(check: CallerCheck, metrics: Metrics): CallerCheck {
  return (metadata) => {
    const ok = check(metadata);
    if (!ok) metrics.alsRefused.inc();
    return ok;
  };
}

/** The audit store as the recorder sees it: every append timed (its group commit and fsync) and counted; failures are src/audit/health.ts's. */
export function instrumentAuditStore(store: AuditStore, metrics: Metrics): AuditStore {
  return {
    append: async (events) => {
      const end = metrics.auditFsyncSeconds.startTimer();
      try {
        await store.append(events);
        metrics.auditAppended.inc(events.length);
      } finally {
        end();
      }
    },
    query: (q, opts) => store.query(q, opts),
    verify: () => store.verify(),
    close: () => store.close(),
  };
}

/**
 * Delivery hooks for the alert engine: an accepted HTTP answer is a sent alert, each backoff wait a retry, and the
 * engine's one warning per failed alert (engine.ts `settle`) a dead letter.
 */
export function alertDeliveryHooks(metrics: Metrics, log: Logger, sleep: (ms: number, signal: AbortSignal) => Promise<void>) {
  return {
    fetch: (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const res = await fetch(input, init);
      if (res.ok) metrics.alertsSent.inc();
      return res;
    }) as typeof fetch,
    sleep: (ms: number, signal: AbortSignal) => {
      metrics.alertsRetried.inc();
      return sleep(ms, signal);
    },
    logger: {
      warn: ((obj: unknown, msg?: string) => {
        if (msg === 'alert delivery failed') metrics.alertsDeadLettered.inc();
        log.warn(obj as object, msg);
      }) as Logger['warn'],
    },
  };
}

/**
 * xDS metrics from the status registry and the publisher: connected streams, ACK/NACK per type, and the time from a
 * snapshot's publication to each ACK of it. Returns the publish observer and a stop function.
 */
export function xdsMetrics(metrics: Metrics, status: XdsStatus): { published(result: PublishResult): void; stop(): void } {
  // Publication time per snapshot version; a few recent ones suffice (an Envoy ACKs the latest, or one just before).
  const publishedAt = new Map<string, number>();
  const stop = status.subscribe((e) => {
    if (e.kind !== 'ack' && e.kind !== 'nack') {
      metrics.xdsConnected.set(status.size);
      return;
    }
    const type = xdsTypeLabel(e.typeUrl);
    metrics.xdsResponses.inc({ type, result: e.kind });
    const at = e.kind === 'ack' ? publishedAt.get(e.version) : undefined;
    if (at !== undefined) metrics.xdsPushSeconds.observe({ type }, (performance.now() - at) / 1000);
  });
  return {
    published(result) {
      metrics.xdsSnapshots.inc({ result: result.ok ? 'pushed' : 'refused' });
      metrics.xdsBuildSeconds.observe(result.buildMs / 1000);
      if (!result.ok) return;
      publishedAt.set(result.version, performance.now());
      if (publishedAt.size > 16) publishedAt.delete(publishedAt.keys().next().value as string);
    },
    stop,
  };
}
