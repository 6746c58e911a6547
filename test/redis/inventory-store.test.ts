import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DDSketch } from '../../src/inventory/sketch.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { MAX_SET_MEMBERS, type InventoryRecord, type InventoryStore, type RecordDelta } from '../../src/store/inventory-store.js';
import { RedisInventoryStore } from '../../src/store/redis/inventory-store.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';

const sketch = (...values: number[]) => {
  const s = new DDSketch(0.01);
  for (const v of values) s.add(v);
  return s;
};

/** Comparable form: sets sorted, sketches as quantiles (the two stores may order bins and members differently). */
function view(r: InventoryRecord | undefined) {
  if (!r) return undefined;
  return {
    key: r.key,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
    counters: r.counters,
    sets: Object.fromEntries(Object.entries(r.sets).map(([k, v]) => [k, [...v].sort()])),
    sketches: Object.fromEntries(Object.entries(r.sketches).map(([k, s]) => [k, [s.count, s.quantile(0.5), s.quantile(0.99), s.toJSON().min, s.toJSON().max]])),
  };
}

describe.skipIf(!redisAvailable())('the Redis inventory store answers like the embedded one', () => {
  let redis: RedisProcess;
  let conn: RedisConnection;
  let store: RedisInventoryStore;
  let embedded: EmbeddedInventoryStore;

  beforeAll(async () => {
    redis = await startRedis();
    conn = await RedisConnection.open({ url: redis.url, replicaId: 't', log: pino({ level: 'silent' }) });
    store = new RedisInventoryStore(conn, { flushMs: 60_000 });
    embedded = await EmbeddedInventoryStore.open({});
  });
  afterAll(async () => {
    await store?.close();
    await embedded?.close();
    await conn?.close();
    await redis?.stop();
  });

  const both = async (deltas: RecordDelta[]) => {
    for (const s of [store, embedded] as InventoryStore[]) await s.apply('tokens', deltas);
  };

  it('counters add, first/last seen take the min/max, sets union, sketches merge: in any order', async () => {
    const members = Array.from({ length: MAX_SET_MEMBERS + 20 }, (_, i) => `dest-${i}`);
    await both([
      { key: 'k1', at: 5000, counters: { count: 2, bytes: 100 }, sets: { identities: ['web'] }, sketches: { latency: sketch(1, 2, 3) } },
      { key: 'k1', at: 1000, counters: { count: 1 }, sets: { identities: ['batch', 'web'] } },
    ]);
    await store.flush();
    await both([
      { key: 'k1', at: 3000, counters: { count: 4, bytes: 0.5 }, sets: { destinations: members }, sketches: { latency: sketch(250, 900) } },
      { key: 'k2', at: 2000, counters: { count: 1 } },
    ]);
    const r = view(await store.get('tokens', 'k1'));
    expect(r).toEqual(view(await embedded.get('tokens', 'k1')));
    expect(r?.counters).toEqual({ count: 7, bytes: 100.5 });
    expect([r?.firstSeen, r?.lastSeen]).toEqual([1000, 5000]);
    expect(r?.sets.destinations).toHaveLength(MAX_SET_MEMBERS);
    expect(await store.size('tokens')).toBe(2);
  });

  it('key-ordered pages with a prefix and a cursor match the embedded store', async () => {
    const keys = ['["a","x"]', '["a","y"]', '["a","z"]', '["b","x"]', '["ab","q"]'];
    await both(keys.map((key, i) => ({ key, at: 10_000 + i, counters: { count: i + 1 } })));
    const pages = async (s: InventoryStore, prefix?: string) => {
      const out: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const p = await s.scan('tokens', { after, prefix, limit: 2 });
        out.push(p.records.map((r) => r.key));
        if (p.next === undefined) return out;
        after = p.next;
      }
    };
    expect(await pages(store, '["a",')).toEqual(await pages(embedded, '["a",'));
    expect(await pages(store, '["a",')).toEqual([['["a","x"]', '["a","y"]'], ['["a","z"]']]);
    expect(await pages(store)).toEqual(await pages(embedded));
  });

  it('deltas taken while Redis is down are kept in memory and written when it returns, counted once', async () => {
    await redis.kill();
    await new Promise((r) => setTimeout(r, 100));
    await store.apply('edges', [{ key: 'outage', at: 1, counters: { requests: 3 } }]);
    await expect(store.flush()).rejects.toThrow(/unreachable/);
    await store.apply('edges', [{ key: 'outage', at: 2, counters: { requests: 2 } }]);
    expect(store.pendingKeys()).toBe(1);
    await redis.restart();
    const deadline = Date.now() + 10_000;
    while (store.pendingKeys() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const r = await store.get('edges', 'outage');
    expect(r?.counters).toEqual({ requests: 5 });
  });
});
