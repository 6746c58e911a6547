import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRoutes } from '../../src/admin/routes/audit.js';
import type { AuditPage } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { events, tempDataDir } from './fixtures.js';

let app: FastifyInstance;
let store: EmbeddedAuditStore;

beforeAll(async () => {
  store = await EmbeddedAuditStore.open({ dataDir: tempDataDir(), maintenanceIntervalMs: 0, maxSegmentBytes: 8000 });
  await store.append(events(0, 90));
  app = Fastify();
  auditRoutes(app, store);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await store.close();
});

async function get(query: string): Promise<{ status: number; body: AuditPage & { error?: string; problems?: Array<{ path: string; message: string }> } }> {
  const res = await app.inject({ method: 'GET', url: `/v1/audit${query}` });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /v1/audit', () => {
  it('returns the newest records first, 100 by default', async () => {
    const { status, body } = await get('');
    expect(status).toBe(200);
    expect(body.records.map((r) => r.seq)).toEqual(Array.from({ length: 90 }, (_, i) => 90 - i));
    expect(body.next_cursor).toBeNull();
  });

  it('filters by time range, identity, destination, verdict, finding type, decision id and kind', async () => {
    const q = (s: string) => get(s).then((r) => r.body.records);
    expect((await q('?since=2026-11-25T12:00:30Z&until=2026-11-25T12:00:40Z')).map((r) => r.seq)).toEqual([40, 39, 38, 37, 36, 35, 34, 33, 32, 31]);
    expect((await q('?identity=web')).every((r) => r.identity === 'web')).toBe(true);
    expect((await q('?destination=api.github.com:443')).every((r) => r.destination === 'api.github.com:443')).toBe(true);
    expect((await q('?verdict=deny')).map((r) => r.seq)).toEqual([85, 73, 61, 49, 37, 25, 13, 1]);
    const tokens = await q('?finding_type=github_token');
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((r) => r.kind === 'scrub' && r.findings.some((f) => f.type === 'github_token'))).toBe(true);
    expect((await q('?decision_id=dec-7')).map((r) => r.seq)).toEqual([8]);
    expect((await q('?kind=access&identity=search')).length).toBe(0);
    expect((await q('?kind=access&identity=web')).length).toBe(30);
  });

  it('pages with limit and next_cursor', async () => {
    const seen: number[] = [];
    let url = '?limit=40&kind=decision';
    for (;;) {
      const { body } = await get(url);
      seen.push(...body.records.map((r) => r.seq));
      if (!body.next_cursor) break;
      url = `?limit=40&kind=decision&cursor=${encodeURIComponent(body.next_cursor)}`;
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 88 - 3 * i));
    const two = await get('?limit=2');
    expect(two.body.records.map((r) => r.seq)).toEqual([90, 89]);
    const next = await get(`?limit=2&cursor=${two.body.next_cursor}`);
    expect(next.body.records.map((r) => r.seq)).toEqual([88, 87]);
  });

  it('answers 400 naming the bad filter', async () => {
    const bad = async (query: string, path: string) => {
      const { status, body } = await get(query);
      expect(status, query).toBe(400);
      expect(body.error).toBe('invalid_request');
      expect(body.problems?.map((p) => p.path), query).toContain(path);
    };
    await bad('?limit=1001', 'limit');
    await bad('?limit=0', 'limit');
    await bad('?limit=ten', 'limit');
    await bad('?since=yesterday', 'since');
    await bad('?since=2026-11-26T00:00:00Z&until=2026-11-25T00:00:00Z', 'since');
    await bad('?verdict=maybe', 'verdict');
    await bad('?kind=other', 'kind');
    await bad('?colour=blue', '(root)');
    await bad('?identity=a&identity=b', 'identity');
    await bad('?cursor=garbage', 'cursor');
  });
});
