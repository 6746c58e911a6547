import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection } from '../../src/redis/connection.js';
import { StalePolicyError, type StoredPolicy } from '../../src/store/policy-store.js';
import { RedisPolicyStore } from '../../src/store/redis/policy-store.js';
import { redisAvailable, redisCommand, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually } from './replicas.js';

const doc = (version: number, text = `v${version}`): StoredPolicy => ({ version, text, sha256: `sha-${version}`, updatedAt: new Date(version * 1000).toISOString() });

describe.skipIf(!redisAvailable())('the Redis policy store', () => {
  let redis: RedisProcess;
  const conns: RedisConnection[] = [];
  const stores: RedisPolicyStore[] = [];

  const open = async (reconcileMs = 3_600_000) => {
    const conn = await RedisConnection.open({ url: redis.url, replicaId: `r${conns.length}`, log: pino({ level: 'silent' }) });
    conns.push(conn);
    const store = await RedisPolicyStore.open(conn, { reconcileMs });
    stores.push(store);
    return { conn, store };
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const c of conns) await c.close();
    await redis?.stop();
  });

  it('a save of a version the store already holds is refused with the stored one', async () => {
    const x = await open();
    const y = await open();
    await x.store.save(doc(1));
    await expect(y.store.save(doc(1, 'other'))).rejects.toBeInstanceOf(StalePolicyError);
    const err = await y.store.save(doc(1, 'other')).then(() => undefined, (e: unknown) => e as StalePolicyError);
    expect(err?.stored.text).toBe('v1');
    expect((await y.store.load())?.text).toBe('v1');
  });

  it('a replica that lost its subscription still learns of a new version by periodic reconciliation', async () => {
    const x = await open();
    const y = await open(100);
    let told = 0;
    y.store.watch(() => told++);
    await y.store.load();
    await y.conn.sub.unsubscribe(y.conn.keys.policyChannel);
    await x.store.save(doc(2));
    await eventually(() => told > 0, 'reconciliation to notice version 2');
    expect((await y.store.load())?.version).toBe(2);
  });

  it('Redis emptied: each store offers the version it knows and the newest stays, whichever offers first', async () => {
    const newer = await open();
    const older = await open();
    await newer.store.save(doc(20));
    await older.store.load();
    await newer.store.save(doc(21));
    for (const order of [[older, newer], [newer, older]]) {
      await redisCommand(redis.port, 'FLUSHALL');
      for (const r of order) await r.store.reconcile();
      expect((await newer.store.load())?.text).toBe('v21');
    }
  });
});
