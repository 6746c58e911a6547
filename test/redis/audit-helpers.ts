import { Redis } from 'ioredis';
import type { DecisionEvent } from '../../src/events/types.js';

/** A plain client for test assertions, failing fast while the server is down. */
export async function testClient(url: string): Promise<Redis> {
  const c = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000, retryStrategy: () => 50, lazyConnect: true });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** A client like the one Tollgate uses: no offline queue, short timeouts, reconnecting forever. */
export async function shipperClient(url: string): Promise<Redis> {
  const c = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000, connectTimeout: 1000, retryStrategy: (n) => Math.min(50 * n, 500), lazyConnect: true });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const T0 = Date.parse('2026-11-25T23:59:00.000Z');

/** Decision `i` of replica `r`: times cross midnight at i = 60 (so several day streams), identities alternate. */
export function decision(r: string, i: number, stepMs = 1000): DecisionEvent {
  return {
    kind: 'decision',
    time: new Date(T0 + i * stepMs).toISOString(),
    decision_id: `${r}-${i}`,
    identity: i % 2 ? 'billing' : 'web',
    destination: 'api.stripe.com:443',
    method: 'POST',
    path_template: '/v1/charges',
    verdict: i % 5 === 0 ? 'deny' : 'allow',
    mode: 'enforce',
    rule: 'egress[0].allow[0]',
    reason: 'matched',
    latency_us: 10,
    policy_version: 1,
  };
}

export function decisions(r: string, from: number, n: number, stepMs = 1000): DecisionEvent[] {
  return Array.from({ length: n }, (_, k) => decision(r, from + k, stepMs));
}

/** Every record id in every one of the prefix's audit streams: `replica:seq`. */
export async function allShipped(redis: Redis, prefix = 'tollgate'): Promise<string[]> {
  const out: string[] = [];
  for (const r of await redis.smembers(`{${prefix}:audit}:replicas`)) {
    for (const d of await redis.zrange(`{${prefix}:audit:${r}}:days`, 0, -1)) {
      for (const [id] of await redis.xrange(`{${prefix}:audit:${r}}:${d}`, '-', '+')) out.push(`${r}:${id.split('-')[0]}`);
    }
  }
  return out;
}
