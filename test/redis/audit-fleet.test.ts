import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { auditCommand } from '../../src/audit/cli.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { InvalidCursorError, type AuditQuery } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { FleetAuditStore, type FleetAuditRecord } from '../../src/store/redis/audit-fleet.js';
import { verifyFleet } from '../../src/store/redis/audit-verify.js';
import { tempDataDir } from '../audit/fixtures.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { decision, shipperClient, testClient } from './audit-helpers.js';

describe.skipIf(!redisAvailable())('the fleet audit view (/v1/audit from Redis Streams)', () => {
  let redis: RedisProcess;
  const dirs: string[] = [];
  const stores: EmbeddedAuditStore[] = [];
  let fleet: FleetAuditStore;
  /** What every replica wrote: replica, decision id, time. */
  const written: Array<{ replica: string; decision_id: string; time: number; identity: string; verdict: string }> = [];

  beforeAll(async () => {
    redis = await startRedis();
    const client = await shipperClient(redis.url);
    for (const r of ['a', 'b', 'c']) {
      const dir = tempDataDir();
      dirs.push(dir);
      const store = await EmbeddedAuditStore.open({ dataDir: dir, maxSegmentBytes: 16 * 1024, maintenanceIntervalMs: 0 });
      stores.push(store);
      // Interleaved in time across replicas (a at 0, 3, 6 s...; b at 1, 4...; c at 2, 5...), across midnight.
      for (let k = 0; k < 4; k++) {
        const batch = Array.from({ length: 30 }, (_, j) => {
          const i = (k * 30 + j) * 3 + ['a', 'b', 'c'].indexOf(r);
          const e = decision(r, i);
          written.push({ replica: r, decision_id: e.decision_id!, time: Date.parse(e.time), identity: e.identity, verdict: e.verdict });
          return e;
        });
        await store.append(batch);
      }
      await new AuditShipper({ redis: client, local: store, replica: r, prefix: 'fl', trimEveryMs: 0 }).drain();
    }
    fleet = new FleetAuditStore({ redis: client, prefix: 'fl', local: stores[0]!, replica: 'a' });
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
    const code = await auditCommand(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    return { code, out, err };
  }

  async function all(q: AuditQuery): Promise<FleetAuditRecord[]> {
    const out: FleetAuditRecord[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 500; pages++) {
      const page = await fleet.query({ ...q, ...(cursor ? { cursor } : {}) });
      out.push(...(page.records as FleetAuditRecord[]));
      if (!page.next_cursor) return out;
      cursor = page.next_cursor;
    }
    throw new Error('too many pages');
  }

  it('pages through every replica record exactly once, newest first, each naming its replica', async () => {
    const got = await all({ limit: 7 });
    expect(got).toHaveLength(360);
    expect(new Set(got.map((r) => r.decision_id)).size).toBe(360);
    const times = got.map((r) => Date.parse(r.time));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    for (const r of got) expect(r.decision_id!.startsWith(`${r.replica}-`)).toBe(true);
  });

  it('applies the embedded store filters to the whole fleet', async () => {
    const billingDenies = await all({ identity: 'billing', verdict: 'deny', limit: 5 });
    const want = written.filter((w) => w.identity === 'billing' && w.verdict === 'deny').map((w) => w.decision_id);
    expect(billingDenies.map((r) => r.decision_id).sort()).toEqual(want.sort());

    const since = Date.parse('2026-11-25T23:59:50Z');
    const until = Date.parse('2026-11-26T00:00:20Z');
    const window = await all({ since, until, limit: 4 });
    expect(window.map((r) => r.decision_id).sort()).toEqual(written.filter((w) => w.time >= since && w.time < until).map((w) => w.decision_id).sort());
    expect((await fleet.query({ decision_id: 'b-100' })).records.map((r) => r.decision_id)).toEqual(['b-100']);
  });

  it('a page started before more records were shipped goes on without repeating or skipping the older ones', async () => {
    const first = await fleet.query({ limit: 10 });
    const e = decision('a', 100_000);
    await stores[0]!.append([e]);
    const client = await shipperClient(redis.url);
    await new AuditShipper({ redis: client, local: stores[0]!, replica: 'a', prefix: 'fl', trimEveryMs: 0 }).drain();
    const rest: FleetAuditRecord[] = [];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await fleet.query({ limit: 50, cursor });
      rest.push(...(page.records as FleetAuditRecord[]));
      cursor = page.next_cursor;
    }
    const ids = [...first.records, ...rest].map((r) => r.decision_id);
    expect(ids).toHaveLength(360);
    expect(new Set(ids).size).toBe(360);
    expect((await fleet.query({ limit: 1 })).records[0]!.decision_id).toBe('a-100000');
    client.disconnect();
  });

  it('refuses a cursor it did not make', async () => {
    await expect(fleet.query({ cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(fleet.query({ cursor: Buffer.from('f1:2026:a=1').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('verifies every replica chain from Redis, and names the replica and record where one is broken', async () => {
    const check = await testClient(redis.url);
    const ok = await verifyFleet(check, 'fl');
    expect(ok.ok).toBe(true);
    expect(ok.replicas.map((r) => [r.replica, r.records])).toEqual([
      ['a', 121],
      ['b', 120],
      ['c', 120],
    ]);
    expect(await cli(['verify', '--redis', redis.url, '--redis-prefix', 'fl:'])).toMatchObject({ code: 0, out: expect.stringMatching(/replica b: ok, 120 records, seq 1\.\.120/) });
    const day = (await check.zrange('{fl:audit:b}:days', 0, -1))[0]!;
    await check.xdel(`{fl:audit:b}:${day}`, '7-0');
    const broken = await verifyFleet(check, 'fl');
    expect(broken.ok).toBe(false);
    const b = broken.replicas.find((r) => r.replica === 'b')!;
    expect(b.broken).toMatchObject({ seq: 7, reason: 'seq_mismatch' });
    expect(broken.replicas.filter((r) => r.ok).map((r) => r.replica)).toEqual(['a', 'c']);
    const run = await cli(['verify', '--redis', redis.url, '--redis-prefix', 'fl:']);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/replica b: BROKEN at \{fl:audit:b\}:\d{8} line \d+ \(seq 7\): seq mismatch/);
    expect(run.out).toMatch(/replica c: ok/);
    check.disconnect();
  });

  it('answers with this replica records, said so, while Redis is unreachable', async () => {
    await redis.kill();
    try {
      const page = (await fleet.query({ limit: 5 })) as Awaited<ReturnType<FleetAuditStore['query']>> & { fleet?: boolean; note?: string };
      expect(page.fleet).toBe(false);
      expect(page.note).toMatch(/fleet view unavailable/);
      expect(page.records.every((r) => (r as FleetAuditRecord).replica === 'a')).toBe(true);
      const next = await fleet.query({ limit: 5, cursor: page.next_cursor! });
      expect(next.records).toHaveLength(5);
      expect(next.records[0]!.seq).toBeLessThan(page.records.at(-1)!.seq);
    } finally {
      await redis.restart();
    }
  });
});
