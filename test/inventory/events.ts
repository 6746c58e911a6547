import type { AccessEvent, DecisionEvent, EventFinding, ScrubEvent } from '../../src/events/types.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
let seq = 0;

export function at(secondsAfterT0: number): string {
  return new Date(T0 + secondsAfterT0 * 1000).toISOString();
}

interface Req {
  identity?: string;
  destination?: string;
  method?: string;
  path_template?: string;
  time?: string;
  request_id?: string;
}

function base(r: Req) {
  return {
    time: r.time ?? at(0),
    request_id: r.request_id ?? `req-${++seq}`,
    identity: r.identity ?? 'billing',
    destination: r.destination ?? 'api.stripe.com:443',
    method: r.method ?? 'GET',
    path_template: r.path_template ?? '/v1/customers/{id}',
  };
}

export function decision(r: Req & { verdict?: DecisionEvent['verdict'] } = {}): DecisionEvent {
  return { kind: 'decision', ...base(r), verdict: r.verdict ?? 'allow', mode: 'enforce', rule: 'r', reason: 'x', latency_us: 20, policy_version: 1 };
}

export function access(r: Req & { status?: number; sent?: number; received?: number; latency?: number } = {}): AccessEvent {
  return { kind: 'access', ...base(r), status: r.status ?? 200, bytes_sent: r.sent ?? 0, bytes_received: r.received ?? 0, upstream_latency_ms: r.latency };
}

/** A decision and its access log, sharing one request id. */
export function request(r: Req & { verdict?: DecisionEvent['verdict']; status?: number; sent?: number; received?: number; latency?: number } = {}) {
  const id = r.request_id ?? `req-${++seq}`;
  return [decision({ ...r, request_id: id }), access({ ...r, request_id: id })];
}

export function scrub(r: Req & { findings: Array<Partial<EventFinding> & { type: string }> }): ScrubEvent {
  return {
    kind: 'scrub',
    ...base(r),
    outcome: 'scrubbed',
    findings: r.findings.map((f) => ({ action: 'redact', where: 'header:authorization', fingerprint: 'fp-1', ...f })),
    bytes_scanned: 100,
    body_mode: 'buffered',
  };
}
