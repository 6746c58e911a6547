import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditStoreStatus } from '../store/audit-store.js';
import type { AuditRecorderStats } from './recorder.js';

/** `GET /v1/audit/status`: the store's state and the recorder's queue, with what keeps the log from being healthy. */
export interface AuditStatus extends AuditStoreStatus {
  /** False while records cannot be written (they wait in memory and are lost on kill -9 or power loss). */
  writing: boolean;
  /** Why the log needs attention (failing appends, quarantined or damaged segments); empty when all is well. */
  problems: string[];
  recorder: AuditRecorderStats;
  /** How long ago the oldest decision not yet durable was made (0 when none waits): the loss window a crash would have now. */
  durability_lag_ms: number;
}

/** Past this, a crash would lose more than the README's promise; reported as a problem. */
export const DURABILITY_PROMISE_MS = 1000;

export interface AuditStatusSources {
  store: { status(): AuditStoreStatus };
  recorder: { stats(): AuditRecorderStats };
}

export function auditStatus({ store, recorder }: AuditStatusSources): AuditStatus {
  const s = store.status();
  const r = recorder.stats();
  const problems: string[] = [];
  const writing = !s.appends_failing && !r.failing;
  if (!writing) problems.push(`audit appends failing since ${s.failing_since ?? new Date(r.failingSince ?? Date.now()).toISOString()}: ${s.last_error ?? r.lastError ?? 'unknown error'}; ${r.queued} records wait in memory`);
  for (const q of s.quarantined) problems.push(`quarantined segment ${q.segment} (was ${q.original}): line ${q.line}, ${q.reason.replaceAll('_', ' ')}`);
  for (const d of s.damaged) problems.push(`damaged sealed segment ${d.segment}: line ${d.line}, ${d.reason.replaceAll('_', ' ')}`);
  const lag = r.oldestPending ? Math.max(0, Date.now() - Date.parse(r.oldestPending)) : 0;
  if (writing && lag > DURABILITY_PROMISE_MS) problems.push(`audit records wait ${lag} ms to become durable (promise: ${DURABILITY_PROMISE_MS} ms); the disk is slow`);
  if (r.dropped > 0) problems.push(`${r.dropped} audit records dropped since start (queue full or unwritable)`);
  return { ...s, writing, problems, recorder: r, durability_lag_ms: Number.isFinite(lag) ? lag : 0 };
}

/** Audit-log metrics read from the status at scrape time, so they cannot drift from `/v1/audit/status`. */
export function registerAuditMetrics(registry: Registry, status: () => AuditStatus): void {
  const counter = (name: string, help: string, value: (s: AuditStatus) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(status()));
      },
    });
  const gauge = (name: string, help: string, value: (s: AuditStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(status()));
      },
    });
  counter('tollgate_audit_quarantined_segments_total', 'Damaged audit segments set aside whole in data/audit/quarantine (kept, never deleted); see tollgate audit verify', (s) => s.quarantined.length);
  counter('tollgate_audit_append_failures_total', 'Audit group commits that failed on I/O (disk full, I/O error); their records wait in memory and are retried', (s) => s.append_failures);
  counter('tollgate_audit_records_truncated_total', 'Audit records over the 64 KiB cap stored cut down (marked truncated, dropped elements counted)', (s) => s.records_truncated);
  counter('tollgate_audit_records_stubbed_total', 'Audit events that could not be serialized, stored as a stub naming why', (s) => s.records_stubbed);
  gauge('tollgate_audit_queued_records', 'Audit queue depth: records handed to the audit log and not yet durable (being encoded and fsynced, or waiting because appends fail); lost on kill -9 or power loss. Past 100,000 new records are dropped and counted in tollgate_audit_records_dropped_total', (s) => s.recorder.queued);
  gauge('tollgate_audit_disk_bytes', 'Bytes the audit log takes on disk (sealed segments compressed, plus the active one)', (s) => s.disk_bytes ?? 0);
  gauge('tollgate_audit_max_bytes', 'The audit log size cap (--audit-max-bytes); 0 when there is none', (s) => s.max_bytes ?? 0);
  gauge('tollgate_audit_first_seq', 'Oldest audit record seq still held (retention removes older segments); verify reports the chain from here', (s) => s.first_seq ?? 1);
  new Counter({
    name: 'tollgate_audit_retention_removed_records_total',
    help: 'Audit records removed by retention, by reason: age (--audit-retention-days) or size (--audit-max-bytes)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const r = status().retention_removed;
      for (const reason of ['age', 'size'] as const) this.inc({ reason }, r?.[reason].records ?? 0);
    },
  });
  gauge('tollgate_audit_durability_lag_seconds', 'Age of the oldest decision handed to the audit log and not yet fsynced (what a crash now would lose)', (s) => s.durability_lag_ms / 1000);
  gauge('tollgate_audit_writing', '1 while audit appends succeed, 0 while they fail', (s) => (s.writing ? 1 : 0));
}
