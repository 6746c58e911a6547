import type { EgressEvent } from '../../src/events/types.js';

/**
 * The audit benchmarks' record mix (about 530 bytes stored): decisions, scrub results with a finding and access
 * logs in turn, `stepMs` apart.
 */
export function makeEvent(i: number, stepMs = 1): EgressEvent {
  const base = {
    time: new Date(Date.UTC(2026, 10, 25) + i * stepMs).toISOString(),
    request_id: `7f3c1a2e-${i.toString(16).padStart(8, '0')}-4b1e-9c7d`,
    decision_id: `d-${i.toString(36)}`,
    identity: `svc-${i % 50}`,
    destination: `api-${i % 200}.example.com:443`,
    method: 'POST',
    path_template: '/v1/customers/{id}/charges',
  };
  if (i % 3 === 0) return { ...base, kind: 'decision', verdict: 'allow', mode: 'enforce', rule: 'egress[3].allow[1]', reason: 'matched host and path', latency_us: 38, policy_version: 7 };
  if (i % 3 === 1) return { ...base, kind: 'scrub', outcome: 'scrubbed', findings: [{ type: 'email', action: 'redact', where: 'json:$.customer.email', fingerprint: 'hmac:9f2c41d07ab3' }], bytes_scanned: 1834, body_mode: 'buffered' };
  return { ...base, kind: 'access', status: 200, bytes_sent: 1834, bytes_received: 5120, upstream_latency_ms: 41 };
}
