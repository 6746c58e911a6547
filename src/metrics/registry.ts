import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';

/** Every Prometheus metric Tollgate exports, in one registry (served at GET /metrics). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_process_' });
  return {
    registry,
    decisions: new Counter({
      name: 'tollgate_authz_decisions_total',
      help: 'ext_authz decisions by verdict (allow, deny, report_deny) and mode',
      labelNames: ['verdict', 'mode'] as const,
      registers: [registry],
    }),
    checkSeconds: new Histogram({
      name: 'tollgate_authz_check_duration_seconds',
      help: 'Time to answer one ext_authz Check, from request decoded to response handed to gRPC',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    }),
    policyVersion: new Gauge({ name: 'tollgate_policy_version', help: 'Version of the policy currently serving', registers: [registry] }),
    policyRejections: new Counter({ name: 'tollgate_policy_rejected_total', help: 'Policy updates rejected as invalid or stale', labelNames: ['reason'] as const, registers: [registry] }),
    backgroundErrors: new Counter({
      name: 'tollgate_background_errors_total',
      help: 'Failures of background tasks (file reloads, watchers, snapshots, deliveries, stray rejections), logged and survived',
      labelNames: ['task'] as const,
      registers: [registry],
    }),
    storageWritable: new Gauge({ name: 'tollgate_storage_writable', help: '1 while the data directory accepts writes, 0 after a write failed (ENOSPC, EROFS, EACCES) until one succeeds', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
