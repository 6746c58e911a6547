import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { DecisionEvent, EgressEvent, ScrubEvent } from '../../src/events/types.js';
import { EmbeddedAuditStore, type EmbeddedAuditOptions } from '../../src/store/embedded/audit-segments.js';

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'tollgate-audit-'));
}

/**
 * An opener of embedded audit stores for one test file: a fresh data directory and no background maintenance unless
 * given, `defaults` under each call's options; every store it opened is closed after each test.
 */
export function auditStores(defaults: Partial<EmbeddedAuditOptions> = {}): (opts?: Partial<EmbeddedAuditOptions>) => Promise<EmbeddedAuditStore> {
  const open: EmbeddedAuditStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return async (opts = {}) => {
    const s = await EmbeddedAuditStore.open({ dataDir: tempDataDir(), maintenanceIntervalMs: 0, ...defaults, ...opts });
    open.push(s);
    return s;
  };
}

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

/** Event `i`: decisions, scrubs and access logs in turn, across three identities and two destinations, one second apart. */
export function event(i: number): EgressEvent {
  const base = {
    time: new Date(T0 + i * 1000).toISOString(),
    request_id: `req-${i}`,
    decision_id: `dec-${i}`,
    identity: ['billing', 'search', 'web'][i % 3]!,
    destination: i % 2 === 0 ? 'api.stripe.com:443' : 'api.github.com:443',
    method: 'POST',
    path_template: '/v1/customers/{id}',
  };
  if (i % 3 === 0) {
    const d: DecisionEvent = { ...base, kind: 'decision', verdict: i % 4 === 0 ? 'deny' : 'allow', mode: 'enforce', rule: 'egress[0].allow[0]', reason: 'matched', latency_us: 40, policy_version: 1 };
    return d;
  }
  if (i % 3 === 1) {
    const s: ScrubEvent = {
      ...base,
      kind: 'scrub',
      outcome: 'scrubbed',
      findings: [{ type: i % 2 === 0 ? 'email' : 'github_token', action: 'redact', where: 'json:$.user.email', fingerprint: `fp-${i}` }],
      bytes_scanned: 512,
      body_mode: 'buffered',
    };
    return s;
  }
  return { ...base, kind: 'access', status: 200, bytes_sent: 100, bytes_received: 2000, upstream_latency_ms: 12 };
}

export function events(from: number, count: number): EgressEvent[] {
  return Array.from({ length: count }, (_, k) => event(from + k));
}

export const timeOf = (i: number): number => T0 + i * 1000;
