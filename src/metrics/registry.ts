import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import { PendingCounter } from './pending-counter.js';

/** Latency buckets (seconds) for work that takes from tens of microseconds to a few seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Every Prometheus metric Tollgate exports, in one registry (served at GET /metrics). Labels are low-cardinality
 * enums only (verdict, outcome, detector type, action, xDS type, task): never an identity, host, path or node id.
 */
export function createMetrics() {
  const registry = new Registry();
  // No prefix: dashboards and alerts expect the standard process_* and nodejs_* names.
  collectDefaultMetrics({ register: registry });
  // Counted per Check as plain numbers, added to the counter when /metrics reads it.
  const decisions: Counter<'verdict' | 'mode'> = new Counter({
    name: 'tollgate_authz_decisions_total',
    help: 'ext_authz decisions by verdict (allow, deny, report_deny) and mode',
    labelNames: ['verdict', 'mode'] as const,
    registers: [registry],
    collect: () => decided.flush(),
  });
  const decided = new PendingCounter(decisions, 'verdict', 'mode');
  return {
    registry,
    decisions,
    /** `decisions` for the Check hot path: `decided.inc(verdict, mode)`. */
    decided,
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
    limitRejections: new Counter({
      name: 'tollgate_limit_rejections_total',
      help: 'Requests refused for exceeding a fixed limit (src/config/limits.ts, scrub.maxBodyBytes), by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    storageWritable: new Gauge({ name: 'tollgate_storage_writable', help: '1 while the data directory accepts writes, 0 after a write failed (ENOSPC, EROFS, EACCES) until one succeeds', registers: [registry] }),

    extprocStreams: new Counter({
      name: 'tollgate_extproc_streams_total',
      help: 'ext_proc streams (one per HTTP request) by outcome: forwarded, scrubbed, blocked, observed',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    extprocFindings: new Counter({
      name: 'tollgate_extproc_findings_total',
      help: 'Findings in requests by detector type (email, github_token...) and action (redact, mask, hash, block, allow)',
      labelNames: ['type', 'action'] as const,
      registers: [registry],
    }),
    extprocPhoneBudgetExhausted: new Counter({
      name: 'tollgate_extproc_phone_budget_exhausted_total',
      help: 'ext_proc streams whose body spent its libphonenumber parse budget (scrub.phoneParseBudget): the rest of its phone-shaped values were redacted by shape alone',
      registers: [registry],
    }),
    extprocStreamSeconds: new Histogram({
      name: 'tollgate_extproc_stream_duration_seconds',
      help: 'Time from an ext_proc stream opening to its end (Envoy reset or close), including the waits for body chunks',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),

    xdsConnected: new Gauge({ name: 'tollgate_xds_connected_envoys', help: 'ADS streams open now (one per connected Envoy)', registers: [registry] }),
    xdsSnapshots: new Counter({
      name: 'tollgate_xds_snapshots_total',
      help: 'Snapshots built for the gateways (every policy version and certificate rotation) by result: pushed, refused',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    xdsBuildSeconds: new Histogram({ name: 'tollgate_xds_snapshot_build_duration_seconds', help: 'Time to build and encode one snapshot', buckets: LATENCY_BUCKETS, registers: [registry] }),
    xdsResponses: new Counter({
      name: 'tollgate_xds_responses_total',
      help: 'Envoy answers to pushed resources by type (cluster, listener, route, endpoint, secret, virtual_host) and result: ack, nack',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    xdsPushSeconds: new Histogram({
      name: 'tollgate_xds_push_duration_seconds',
      help: 'Time from a snapshot being published to each Envoy ACKing it, per type',
      labelNames: ['type'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),

    alsEntries: new Counter({ name: 'tollgate_als_entries_total', help: 'Envoy access log entries received over ALS', registers: [registry] }),
    alsRefused: new Counter({
      name: 'tollgate_als_refused_streams_total',
      help: 'Access log streams refused (missing or wrong Envoy token)',
      registers: [registry],
    }),

    auditAppended: new Counter({ name: 'tollgate_audit_records_appended_total', help: 'Records written to the audit log (durable: after their fsync)', registers: [registry] }),
    auditFsyncSeconds: new Histogram({ name: 'tollgate_audit_append_duration_seconds', help: 'Time of one audit append, group commit and fsync included', buckets: LATENCY_BUCKETS, registers: [registry] }),
    auditDropped: new Counter({ name: 'tollgate_audit_records_dropped_total', help: 'Audit records dropped: retry queue full, or a record the store can never write', registers: [registry] }),

    alertsSent: new Counter({ name: 'tollgate_alerts_sent_total', help: 'Alert deliveries a sink accepted', registers: [registry] }),
    alertsRetried: new Counter({ name: 'tollgate_alerts_retried_total', help: 'Alert delivery attempts after the first (retries with backoff)', registers: [registry] }),
    alertsDeadLettered: new Counter({ name: 'tollgate_alerts_dead_lettered_total', help: 'Alerts that failed for good and went to the dead-letter list (GET /v1/alerts?state=failed)', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` → `cluster`: a fixed, small label set. */
export function xdsTypeLabel(typeUrl: string): string {
  const name = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  const known: Record<string, string> = { Cluster: 'cluster', Listener: 'listener', RouteConfiguration: 'route', ClusterLoadAssignment: 'endpoint', Secret: 'secret', VirtualHost: 'virtual_host' };
  return known[name] ?? 'other';
}
