import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditShipper } from '../../src/audit/shipper.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { verifyReplica } from '../../src/store/redis/audit-verify.js';
import { tempDataDir } from '../audit/fixtures.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { allShipped, decisions, shipperClient, testClient, waitUntil } from './audit-helpers.js';

describe.skipIf(!redisAvailable())('audit shipping to Redis Streams', () => {
  let redis: RedisProcess;
  const dirs: string[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function replica(maxSegmentBytes = 8 * 1024) {
    const dir = tempDataDir();
    dirs.push(dir);
    return EmbeddedAuditStore.open({ dataDir: dir, maxSegmentBytes, maintenanceIntervalMs: 0 });
  }

  it('ships every durable record in chain order across segments and days, and a re-send adds nothing', async () => {
    const store = await replica();
    for (let i = 0; i < 10; i++) await store.append(decisions('a', i * 30, 30));
    const client = await shipperClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'a', prefix: 't1', batchRecords: 40, trimEveryMs: 0 });
    await shipper.drain();
    const check = await testClient(redis.url);
    const ids = await allShipped(check, 't1');
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    expect(await check.zrange('{t1:audit:a}:days', 0, -1)).toEqual(['20261125', '20261126']);
    const report = await verifyReplica(check, 't1', 'a');
    expect(report).toMatchObject({ ok: true, records: 300, first_seq: 1, last_seq: 300 });
    expect(report.segments).toBeGreaterThan(3);

    // A shipper that lost its place (its local cursor and Redis's) sends everything again: nothing is added twice.
    await check.del('{t1:audit:a}:cursor');
    rmSync(`${store.dir}/../audit-ship.json`, { force: true });
    const again = new AuditShipper({ redis: client, local: store, replica: 'a', prefix: 't1', trimEveryMs: 0 });
    await again.drain();
    expect(again.status()).toMatchObject({ shipped: 0, duplicates: 300, shipped_seq: 300 });
    expect(await allShipped(check, 't1')).toHaveLength(300);
    await store.close();
    client.disconnect();
    check.disconnect();
  });

  it('keeps records local while Redis is down, reports stuck, and ships them in order once an empty Redis is back', async () => {
    const store = await replica();
    const client = await shipperClient(redis.url);
    const check = await testClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'b', prefix: 't2', pollMs: 20, retryBaseMs: 20, retryMaxMs: 200, stuckAfterMs: 300, trimEveryMs: 0 });
    shipper.start();
    await store.append(decisions('b', 0, 50));
    await waitUntil(() => shipper.status().shipped_seq === 50, 'the first 50 shipped');

    await redis.kill();
    await store.append(decisions('b', 50, 70));
    expect(store.stats().last_seq).toBe(120);
    await waitUntil(() => shipper.status().state === 'stuck', 'shipping reported stuck');
    expect(shipper.status()).toMatchObject({ shipped_seq: 50, local_seq: 120 });
    expect(shipper.status().last_error).toBeTruthy();

    // Back without its data (no persistence): the shipper notices the cursor is gone and re-ships all it holds.
    await redis.restart();
    await waitUntil(() => shipper.status().shipped_seq === 120 && shipper.status().state === 'ok', 'everything shipped after Redis returned');
    await waitUntil(async () => (await allShipped(check, 't2').catch(() => [])).length === 120, 'all 120 records in Redis');
    expect(shipper.status().reships).toBe(1);
    expect(await verifyReplica(check, 't2', 'b')).toMatchObject({ ok: true, records: 120, first_seq: 1, last_seq: 120 });
    await shipper.close();
    await store.close();
    client.disconnect();
    check.disconnect();
  });

  it('waits out a Redis that stops answering (paused) and goes on in order', async () => {
    const store = await replica();
    const client = await shipperClient(redis.url);
    const check = await testClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'c', prefix: 't3', pollMs: 20, retryBaseMs: 20, retryMaxMs: 200, stuckAfterMs: 300, trimEveryMs: 0 });
    shipper.start();
    await store.append(decisions('c', 0, 20));
    await waitUntil(() => shipper.status().shipped_seq === 20, 'the first 20 shipped');
    await check.call('CLIENT', 'PAUSE', '2500', 'ALL');
    await store.append(decisions('c', 20, 20));
    await waitUntil(() => shipper.status().state === 'stuck', 'shipping reported stuck while Redis is paused');
    await waitUntil(() => shipper.status().shipped_seq === 40 && shipper.status().state === 'ok', 'shipping resumed after the pause');
    const report = await verifyReplica(check, 't3', 'c');
    expect(report).toMatchObject({ ok: true, records: 40 });
    expect(shipper.status().reships).toBe(0);
    await shipper.close();
    await store.close();
    client.disconnect();
    check.disconnect();
  });

  it('a shipper cut off mid-pipeline resumes from Redis after a restart: no record twice, none missing', async () => {
    const store = await replica();
    await store.append(decisions('d', 0, 2000));
    const check = await testClient(redis.url);
    const first = await shipperClient(redis.url);
    const shipper = new AuditShipper({ redis: first, local: store, replica: 'd', prefix: 't4', batchRecords: 50, pipelineBatches: 4, trimEveryMs: 0 });
    shipper.start();
    await waitUntil(async () => Number((await check.hget('{t4:audit:d}:cursor', 'seq')) ?? 0) > 200, 'shipping under way');
    // The process dies: its connection drops with batches in flight, its local cursor is never saved at close.
    first.disconnect();
    const shippedBefore = Number(await check.hget('{t4:audit:d}:cursor', 'seq'));
    expect(shippedBefore).toBeLessThan(2000);

    const second = await shipperClient(redis.url);
    const restarted = new AuditShipper({ redis: second, local: store, replica: 'd', prefix: 't4', trimEveryMs: 0 });
    await restarted.drain();
    const ids = await allShipped(check, 't4');
    expect(ids).toHaveLength(2000);
    expect(new Set(ids).size).toBe(2000);
    expect(restarted.status().reships).toBe(0);
    expect(await verifyReplica(check, 't4', 'd')).toMatchObject({ ok: true, records: 2000 });
    await shipper.close();
    await store.close();
    second.disconnect();
    check.disconnect();
  });

  it('ships the intact records of a segment recovery quarantined, and the chain verifies through it in Redis', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const first = await EmbeddedAuditStore.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await first.append(decisions('q', 0, 40));
    await first.close();
    const file = readdirSync(join(dir, 'audit')).find((f) => f.startsWith('audit-'))!;
    const lines = readFileSync(join(dir, 'audit', file), 'utf8').split('\n');
    lines[10] = 'not json at all';
    writeFileSync(join(dir, 'audit', file), lines.join('\n'));
    const store = await EmbeddedAuditStore.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    expect(store.recovery[0]).toMatchObject({ action: 'quarantined', line: 11 });
    await store.append(decisions('q', 100, 5));
    const client = await shipperClient(redis.url);
    const check = await testClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'q', prefix: 't6', trimEveryMs: 0 });
    await shipper.drain();
    expect(shipper.status()).toMatchObject({ shipped_seq: 14, gap_records: 0 });
    expect((await allShipped(check, 't6')).map((id) => Number(id.split(':')[1])).sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(await verifyReplica(check, 't6', 'q')).toMatchObject({ ok: true, records: 14, first_seq: 1, last_seq: 14 });
    await store.close();
    client.disconnect();
    check.disconnect();
  });

  it('refuses to append another data directory chain behind one shipped under the same replica id', async () => {
    const original = await replica();
    await original.append(decisions('w', 0, 50));
    const client = await shipperClient(redis.url);
    const check = await testClient(redis.url);
    await new AuditShipper({ redis: client, local: original, replica: 'w', prefix: 't7', trimEveryMs: 0 }).drain();
    await original.close();

    // A fresh data directory started with the same TOLLGATE_REPLICA_ID: its own chain, seq 1 again.
    const replaced = await replica();
    await replaced.append(decisions('w', 1000, 80));
    const shipper = new AuditShipper({ redis: client, local: replaced, replica: 'w', prefix: 't7', trimEveryMs: 0 });
    await expect(shipper.drain()).rejects.toThrow(/another chain uses this replica id/);
    expect(shipper.status()).toMatchObject({ state: 'stuck', shipped_seq: 0 });
    expect(await allShipped(check, 't7')).toHaveLength(50);
    expect(await verifyReplica(check, 't7', 'w')).toMatchObject({ ok: true, records: 50 });
    await replaced.close();
    client.disconnect();
    check.disconnect();
  });

  it('trims a replica streams only behind the oldest record it still holds locally', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    let now = Date.parse('2026-11-20T00:00:00Z');
    const store = await EmbeddedAuditStore.open({ dataDir: dir, maxSegmentBytes: 4 * 1024, maintenanceIntervalMs: 0, retentionDays: 1, now: () => now });
    for (let i = 0; i < 200; i += 10) await store.append(decisions('e', i, 10));
    const client = await shipperClient(redis.url);
    const check = await testClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'e', prefix: 't5', trimEveryMs: 0, now: () => now });
    await shipper.drain();
    expect(await shipper.trim()).toBe(0);
    expect(await allShipped(check, 't5')).toHaveLength(200);

    now += 3 * 86_400_000;
    await store.append(decisions('e', 200, 10));
    await store.maintain();
    await shipper.drain();
    const low = Number(/(\d{16})/.exec((await import('node:fs')).readdirSync(store.dir).filter((f) => f.startsWith('audit-')).sort()[0]!)![1]);
    expect(low).toBeGreaterThan(1);
    const removed = await shipper.trim();
    expect(removed).toBe(low - 1);
    const left = (await allShipped(check, 't5')).map((id) => Number(id.split(':')[1]));
    expect(Math.min(...left)).toBe(low);
    expect(left).toHaveLength(210 - low + 1);
    const report = await verifyReplica(check, 't5', 'e');
    expect(report.ok).toBe(true);
    expect(report.notes.join(' ')).toMatch(/starts at seq/);
    await store.close();
    client.disconnect();
    check.disconnect();
  });
});
