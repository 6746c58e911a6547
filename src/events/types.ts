import type { PolicyDiffStats } from '../admin/policy-diff.js';

/** Fields every egress event carries, so decisions, scrub results and access logs join on one request. */
export interface EventBase {
  /** ISO-8601 time the event happened. */
  time: string;
  /** Envoy's x-request-id: the join key between ext_authz, ext_proc and the access log. */
  request_id?: string;
  /** Tollgate's decision id (also in the x-tollgate-decision-id header and the 403 body). */
  decision_id?: string;
  identity: string;
  /** `host:port` (`host:default` when the request named no port). */
  destination: string;
  method: string;
  /** Path with ids and numbers collapsed (`/v1/customers/{id}`), never the query. */
  path_template: string;
  /** W3C trace context (`traceparent`) of the request, validated hex only: joins the record to its trace. */
  trace_id?: string;
  span_id?: string;
}

export interface DecisionEvent extends EventBase {
  kind: 'decision';
  verdict: 'allow' | 'deny' | 'report_deny';
  mode: string;
  rule: string;
  reason: string;
  latency_us: number;
  policy_version: number;
  identity_source?: string;
}

/** One finding as events carry it: the type, where, what was done, and a keyed fingerprint; never the value. */
export interface EventFinding {
  type: string;
  action: string;
  /** `header:<name>`, `json:<path>`, `form:<field>`, `query:<param>` or `body:<start>-<end>`. */
  where: string;
  fingerprint: string;
}

export interface ScrubEvent extends EventBase {
  kind: 'scrub';
  outcome: 'forwarded' | 'scrubbed' | 'blocked' | 'observed';
  findings: EventFinding[];
  bytes_scanned: number;
  body_mode: string;
  note?: string;
}

export interface AccessEvent extends EventBase {
  kind: 'access';
  status: number;
  bytes_sent: number;
  bytes_received: number;
  upstream_latency_ms?: number;
  /** The Envoy node that sent the entry (its ALS stream identifier). */
  gateway?: string;
}

export type AdminRole = 'viewer' | 'editor' | 'admin';

/**
 * A change (or refused attempt) made through the admin API or the policy file: who, what, and the redacted policy diff.
 * The base fields describe the admin request (`identity` = `who`, `destination` = `tollgate-admin`) so audit filters work unchanged.
 */
export interface AdminEvent extends EventBase {
  kind: 'admin';
  /** Token name (never the token), `file` for a policy-file reload, `loopback` when no token is configured. */
  who: string;
  role?: AdminRole;
  action: 'policy.update' | 'policy.update.refused';
  from_version?: number;
  to_version?: number;
  /** Line diff of the redacted policy texts, bounded (src/admin/policy-diff.ts): `@@ -old +new @@` hunk headers, then `-`/`+` lines. */
  diff?: string[];
  /** Counts and hashes of the whole change, whatever `diff` shows. */
  diff_stats?: PolicyDiffStats;
  /** Why an attempt was refused (`etag_mismatch`, `forbidden`). */
  reason?: string;
  /** Client address of the admin request. */
  remote?: string;
}

/** Everything on the event bus and in the audit log; egress consumers (inventory, alerts) skip `admin`. */
export type EgressEvent = DecisionEvent | ScrubEvent | AccessEvent | AdminEvent;
