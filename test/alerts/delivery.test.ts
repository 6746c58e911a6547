import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { backoffDelay } from '../../src/alerts/delivery.js';
import { verifySignature } from '../../src/alerts/signature.js';
import { decision, MIN, scrub, T0 } from './support/events.js';
import { manualClock, plan } from './support/engine.js';
import { WebhookReceiver } from './support/receiver.js';

const SECRET = 'alert-signing-secret-0123456789';
const fastRetry = { attempts: 4, baseMs: 5, maxMs: 20 };
const leak = (fingerprint = 'gh1', t = 0) => scrub({ t, destination: 'pastebin.com:443', findings: [{ type: 'github_token', fingerprint }] });

let receivers: WebhookReceiver[] = [];
let engines: AlertEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(receivers.map((r) => r.stop()));
  receivers = [];
  engines = [];
});

async function receiver(failFirst = 0): Promise<WebhookReceiver> {
  const r = await new WebhookReceiver({ failFirst }).start();
  receivers.push(r);
  return r;
}

function engine(...args: ConstructorParameters<typeof AlertEngine>): AlertEngine {
  const e = new AlertEngine(...args);
  engines.push(e);
  return e;
}

function tokenRule(sinks: string[], extra: Record<string, unknown> = {}) {
  return { name: 'token-leak', type: 'token_misuse' as const, sinks, flags: ['foreign_destination' as const], ...extra };
}

describe('alert delivery', () => {
  it('retries with backoff until a failing webhook accepts the alert', async () => {
    const hook = await receiver(2);
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])], retry: fastRetry }));
    const [record] = e.observe([leak()]);
    expect(record!.state).toBe('pending');
    await e.idle();
    expect(hook.deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
    expect(record).toMatchObject({ state: 'delivered', deliveries: [{ sink: 'ops', state: 'delivered', attempts: 3, status: 200 }] });
    const body = JSON.parse(hook.accepted[0]!.body);
    expect(body).toMatchObject({ type: 'tollgate.alert', version: 1, alert: { id: record!.id, rule: 'token-leak', type: 'token_misuse', severity: 'critical' } });
    expect(body.alert.details).toMatchObject({ token_type: 'github_token', fingerprint: 'gh1', destination: 'pastebin.com:443' });
  });

  it('moves an alert to the dead-letter list with the last error when every attempt fails', async () => {
    const hook = await receiver(100);
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])], retry: { attempts: 3, baseMs: 1, maxMs: 2 } }));
    e.observe([leak()]);
    await e.idle();
    expect(hook.deliveries).toHaveLength(3);
    const failed = e.list({ state: 'failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]!.deliveries[0]).toMatchObject({ state: 'failed', attempts: 3, status: 500, error: 'HTTP 500' });
  });

  it('does not retry a 4xx answer other than 408 and 429', async () => {
    const hook = await receiver(100);
    hook.failStatus = 404;
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])], retry: fastRetry }));
    e.observe([leak()]);
    await e.idle();
    expect(hook.deliveries).toHaveLength(1);
    expect(e.list({ state: 'failed' })[0]!.deliveries[0]!.error).toBe('HTTP 404 (not retried)');
  });

  it('reports an unreachable sink as a network error without its URL', async () => {
    const hook = await receiver();
    await hook.stop();
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])], retry: { attempts: 2, baseMs: 1, maxMs: 1 } }));
    e.observe([leak()]);
    await e.idle();
    const error = e.list({ state: 'failed' })[0]!.deliveries[0]!.error!;
    expect(error).toMatch(/^network error/);
    expect(error).not.toContain('127.0.0.1');
  });

  it('times out a sink that does not answer within timeoutMs', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: `http://127.0.0.1:${port}/`, timeoutMs: 50 }], rules: [tokenRule(['ops'])], retry: { attempts: 1, baseMs: 1, maxMs: 1 } }));
    e.observe([leak()]);
    await e.idle();
    silent.closeAllConnections();
    silent.close();
    expect(e.list({ state: 'failed' })[0]!.deliveries[0]!.error).toBe('timed out after 50 ms');
  });

  it('signs deliveries so the receiver can verify them with the shared secret', async () => {
    const hook = await receiver();
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url, secret: { env: 'HOOK_SECRET' } }], rules: [tokenRule(['ops'])] }, { HOOK_SECRET: SECRET }));
    e.observe([leak()]);
    await e.idle();
    const d = hook.accepted[0]!;
    const sig = d.headers['x-tollgate-signature'] as string;
    const ts = d.headers['x-tollgate-timestamp'] as string;
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, sig, ts, d.body, { toleranceSec: 300 })).toBe(true);
    expect(verifySignature('another-secret-0123456789', sig, ts, d.body)).toBe(false);
    expect(verifySignature(SECRET, sig, ts, d.body.replace('pastebin', 'pastebim'))).toBe(false);
    expect(verifySignature(SECRET, sig, String(Number(ts) - 1), d.body)).toBe(false);
  });

  it('sends no signature headers to a sink without a secret', async () => {
    const hook = await receiver();
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])] }));
    e.observe([leak()]);
    await e.idle();
    expect(hook.accepted[0]!.headers['x-tollgate-signature']).toBeUndefined();
  });

  it('sends Slack sinks a {text, blocks} message', async () => {
    const hook = await receiver();
    const e = engine(plan({ sinks: [{ name: 'chat', type: 'slack', url: hook.url }], rules: [tokenRule(['chat'])] }));
    e.observe([leak()]);
    await e.idle();
    const msg = JSON.parse(hook.accepted[0]!.body);
    expect(Object.keys(msg).sort()).toEqual(['blocks', 'text']);
    expect(msg.text).toContain('[CRITICAL]');
    expect(msg.text).toContain('pastebin.com');
    expect(msg.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(msg.blocks[1].fields.length).toBeGreaterThan(0);
    expect(msg.blocks[1].fields.length).toBeLessThanOrEqual(10);
  });

  it('delivers one alert to every sink its rule names', async () => {
    const a = await receiver();
    const b = await receiver();
    const e = engine(plan({ sinks: [{ name: 'a', type: 'webhook', url: a.url }, { name: 'b', type: 'slack', url: b.url }], rules: [tokenRule(['a', 'b'])] }));
    e.observe([leak()]);
    await e.idle();
    expect([a.accepted.length, b.accepted.length]).toEqual([1, 1]);
    expect(e.list()[0]!.deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']);
  });
});

describe('deduplication and rate limits', () => {
  it('suppresses repeats of the same (rule, key) within the dedup window and alerts again after it', async () => {
    const hook = await receiver();
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'], { dedupWindow: '10m' })] }));
    const first = e.observe([leak('gh1', 0)]);
    expect(e.observe([leak('gh1', 1 * MIN), leak('gh1', 9 * MIN)])).toEqual([]);
    expect(e.observe([leak('gh2', 2 * MIN)])).toHaveLength(1);
    expect(e.observe([leak('gh1', 11 * MIN)])).toHaveLength(1);
    await e.idle();
    expect(first[0]!.suppressed).toBe(2);
    expect(hook.accepted).toHaveLength(3);
  });

  it('rate-limits each sink: alerts over maxPerMinute fail at once as rate limited, and the bucket refills', async () => {
    const hook = await receiver();
    const other = await receiver();
    const clock = manualClock(T0);
    const e = engine(
      plan({
        sinks: [
          { name: 'ops', type: 'webhook', url: hook.url, maxPerMinute: 2 },
          { name: 'audit', type: 'webhook', url: other.url, maxPerMinute: 100 },
        ],
        rules: [tokenRule(['ops', 'audit'])],
      }),
      { now: clock.now },
    );
    e.observe([leak('a'), leak('b'), leak('c')]);
    await e.idle();
    expect(hook.accepted).toHaveLength(2);
    expect(other.accepted).toHaveLength(3);
    const [limited] = e.list({ state: 'failed' });
    expect(limited!.details).toMatchObject({ fingerprint: 'c' });
    expect(limited!.deliveries).toEqual([
      { sink: 'ops', state: 'failed', attempts: 0, error: 'rate limited: sink "ops" allows 2 alerts per minute' },
      expect.objectContaining({ sink: 'audit', state: 'delivered' }),
    ]);
    clock.advance(30_000);
    e.observe([leak('d')]);
    await e.idle();
    expect(hook.accepted).toHaveLength(3);
  });
});

describe('alert engine', () => {
  it('reads events from the event bus', async () => {
    const { EventBus } = await import('../../src/events/bus.js');
    const hook = await receiver();
    const bus = new EventBus({ maxDelayMs: 1 });
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url }], rules: [tokenRule(['ops'])] }));
    const detach = e.attach(bus);
    bus.publish(leak());
    await bus.flush();
    await e.idle();
    expect(hook.accepted).toHaveLength(1);
    detach();
  });

  it('keeps what a rule learned across a reload that changes only its sinks, and restarts it when its parameters change', () => {
    const rules = (sinks: string[], learningPeriod = '1h') => [{ name: 'new-dest', type: 'new_destination' as const, sinks, learningPeriod }];
    const sinks = [{ name: 'a', type: 'webhook' as const, url: 'http://127.0.0.1:9/a', maxPerMinute: 1000 }, { name: 'b', type: 'webhook' as const, url: 'http://127.0.0.1:9/b' }];
    const e = engine(plan({ sinks, rules: rules(['a']), retry: { attempts: 1, baseMs: 1, maxMs: 1 } }));
    e.observe([decision({ t: 0 })]);
    e.reload(plan({ sinks, rules: rules(['b']), retry: { attempts: 1, baseMs: 1, maxMs: 1 } }));
    expect(e.observe([decision({ t: 2 * 3_600_000, destination: 'new.example:443' })])).toHaveLength(1);
    e.reload(plan({ sinks, rules: rules(['b'], '2h'), retry: { attempts: 1, baseMs: 1, maxMs: 1 } }));
    expect(e.observe([decision({ t: 3 * 3_600_000, destination: 'newer.example:443' })])).toEqual([]);
  });

  it('keeps a bounded history, newest first', async () => {
    const hook = await receiver();
    const e = engine(plan({ sinks: [{ name: 'ops', type: 'webhook', url: hook.url, maxPerMinute: 1000 }], rules: [tokenRule(['ops'])] }), { historyLimit: 3 });
    e.observe(['a', 'b', 'c', 'd', 'e'].map((fp) => leak(fp)));
    await e.idle();
    expect(e.list().map((r) => r.details.fingerprint)).toEqual(['e', 'd', 'c']);
  });

  it('backs off exponentially with full jitter, capped at maxMs', () => {
    const retry = { attempts: 6, baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, retry, () => 0.999999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(3, retry, () => 0)).toBe(0);
  });
});
