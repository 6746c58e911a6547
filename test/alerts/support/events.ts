import type { AccessEvent, DecisionEvent, EventFinding, ScrubEvent } from '../../../src/events/types.js';

export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const at = (ms: number): string => new Date(T0 + ms).toISOString();
export const MIN = 60_000;
export const HOUR = 60 * MIN;

interface Common {
  identity?: string;
  destination?: string;
  t?: number;
}

function base(c: Common) {
  return { time: at(c.t ?? 0), identity: c.identity ?? 'billing', destination: c.destination ?? 'api.stripe.com:443', method: 'POST', path_template: '/v1/charges' };
}

export function decision(c: Common & { verdict?: DecisionEvent['verdict'] } = {}): DecisionEvent {
  return { ...base(c), kind: 'decision', verdict: c.verdict ?? 'allow', mode: 'enforce', rule: 'egress[0].allow[0]', reason: 'matched', latency_us: 40, policy_version: 1 };
}

export function access(c: Common & { bytes?: number } = {}): AccessEvent {
  return { ...base(c), kind: 'access', status: 200, bytes_sent: c.bytes ?? 1000, bytes_received: 0 };
}

export function scrub(c: Common & { findings: Array<Partial<EventFinding> & { type: string }> }): ScrubEvent {
  return {
    ...base(c),
    kind: 'scrub',
    outcome: 'scrubbed',
    findings: c.findings.map((f) => ({ action: 'redact', where: 'header:authorization', fingerprint: `fp-${f.type}`, ...f })),
    bytes_scanned: 100,
    body_mode: 'buffered',
  };
}
