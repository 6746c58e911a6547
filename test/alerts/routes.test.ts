import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertRoutes } from '../../src/admin/routes/alerts.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { verifySignature } from '../../src/alerts/signature.js';
import { decision, scrub } from './support/events.js';
import { plan } from './support/engine.js';
import { WebhookReceiver } from './support/receiver.js';

const SECRET = 'route-test-secret-0123456789';
let good: WebhookReceiver;
let bad: WebhookReceiver;
let engine: AlertEngine;
let app: FastifyInstance;

beforeEach(async () => {
  good = await new WebhookReceiver().start();
  bad = await new WebhookReceiver({ failFirst: 1000 }).start();
  engine = new AlertEngine(
    plan({
      sinks: [
        { name: 'good', type: 'webhook', url: good.url, secret: { value: SECRET } },
        { name: 'bad', type: 'slack', url: bad.url },
      ],
      rules: [
        { name: 'token-leak', type: 'token_misuse', sinks: ['good'] },
        { name: 'denials', type: 'denied', sinks: ['bad'], threshold: 1, window: '1m' },
      ],
      retry: { attempts: 2, baseMs: 1, maxMs: 2 },
    }),
  );
  app = Fastify();
  alertRoutes(app, engine);
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await engine.close();
  await good.stop();
  await bad.stop();
});

async function raiseBoth(): Promise<void> {
  engine.observe([
    scrub({ t: 0, destination: 'pastebin.com:443', findings: [{ type: 'github_token', fingerprint: 'gh1' }] }),
    decision({ t: 1000, verdict: 'deny' }),
    decision({ t: 2000, verdict: 'deny' }),
  ]);
  await engine.idle();
}

describe('GET /v1/alerts', () => {
  it('lists alert history newest first, with each sink delivery state', async () => {
    await raiseBoth();
    const res = await app.inject({ method: 'GET', url: '/v1/alerts' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.count).toBe(2);
    expect(body.alerts.map((a: { rule: string; state: string }) => [a.rule, a.state])).toEqual([
      ['denials', 'failed'],
      ['token-leak', 'delivered'],
    ]);
  });

  it('shows the dead-letter list at ?state=failed, with the last error', async () => {
    await raiseBoth();
    const body = (await app.inject({ method: 'GET', url: '/v1/alerts?state=failed' })).json();
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({ rule: 'denials', type: 'denied', state: 'failed', deliveries: [{ sink: 'bad', state: 'failed', attempts: 2, error: 'HTTP 500' }] });
  });

  it('filters by rule, type, since and limit', async () => {
    await raiseBoth();
    const get = async (q: string) => (await app.inject({ method: 'GET', url: `/v1/alerts?${q}` })).json().alerts.map((a: { rule: string }) => a.rule);
    expect(await get('rule=token-leak')).toEqual(['token-leak']);
    expect(await get('type=denied')).toEqual(['denials']);
    expect(await get('state=delivered')).toEqual(['token-leak']);
    expect(await get('since=2025-01-01T00:00:01Z')).toEqual(['denials']);
    expect(await get('limit=1')).toEqual(['denials']);
  });

  it('answers 400 with the problem for a bad filter', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/alerts?state=lost&since=yesterday' });
    expect(res.statusCode).toBe(400);
    expect(res.json().problems.map((p: { path: string }) => p.path)).toEqual(['state', 'since']);
  });

  it('never shows sink URLs or secrets', async () => {
    await raiseBoth();
    const text = (await app.inject({ method: 'GET', url: '/v1/alerts' })).body;
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(SECRET);
  });
});

describe('POST /v1/alerts/test', () => {
  it('sends a signed test alert to the sink and returns the delivery result', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/test', payload: { sink: 'good' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ result: { sink: 'good', state: 'delivered', attempts: 1, status: 200 }, alert: { rule: 'test', type: 'test' } });
    const d = good.accepted[0]!;
    expect(JSON.parse(d.body).alert.title).toBe('Tollgate test alert for sink good');
    expect(verifySignature(SECRET, d.headers['x-tollgate-signature'] as string, d.headers['x-tollgate-timestamp'] as string, d.body)).toBe(true);
  });

  it('answers 502 with the failure when the sink rejects the test alert', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/test', payload: { sink: 'bad' } });
    expect(res.statusCode).toBe(502);
    expect(res.json().result).toMatchObject({ sink: 'bad', state: 'failed', error: 'HTTP 500' });
  });

  it('answers 404 for an unknown sink and 400 without one', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/test', payload: { sink: 'pager' } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'unknown_sink', message: 'no sink named "pager"; sinks are: good, bad' });
    expect((await app.inject({ method: 'POST', url: '/v1/alerts/test', payload: {} })).statusCode).toBe(400);
  });
});
