import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditShipper } from '../../src/audit/shipper.js';
import { connectRedis, createRedisClient, parseRedisUrl, type RedisClient } from '../../src/redis/connect.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { verifyReplica } from '../../src/store/redis/audit-verify.js';
import { tempDataDir } from '../audit/fixtures.js';
import { redisAvailable, startRedisSentinel, type RedisSentinelSetup } from '../support/redis.js';
import { decisions, waitUntil } from './audit-helpers.js';

describe.skipIf(!redisAvailable())('audit shipping across a Sentinel failover', () => {
  let sentinel: RedisSentinelSetup;
  const dir = tempDataDir();
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterAll(async () => {
    await sentinel?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes on shipping to the promoted replica, re-sending whatever the failover lost, and the chain verifies there', async () => {
    const open = async (): Promise<RedisClient> => {
      const c = createRedisClient(parseRedisUrl(sentinel.url));
      c.on('error', () => undefined);
      await connectRedis(c, 'sentinel');
      return c;
    };
    const client = await open();
    const store = await EmbeddedAuditStore.open({ dataDir: dir, maxSegmentBytes: 32 * 1024, maintenanceIntervalMs: 0 });
    const shipper = new AuditShipper({ redis: client, local: store, replica: 's1', prefix: 'sen', pollMs: 10, retryBaseMs: 50, retryMaxMs: 500, trimEveryMs: 0 });
    shipper.start();
    await store.append(decisions('s1', 0, 300));
    await waitUntil(() => shipper.status().shipped_seq === 300, 'the first 300 shipped to the master');
    // Appends go on while the master dies and the Sentinel promotes the replica.
    const failover = sentinel.failover();
    for (let i = 300; i < 600; i += 30) {
      await store.append(decisions('s1', i, 30));
      await new Promise((r) => setTimeout(r, 20));
    }
    await failover;
    await waitUntil(() => shipper.status().shipped_seq === 600, 'all 600 shipped after the failover', 30_000);
    const check = await open();
    expect(await verifyReplica(check, 'sen', 's1')).toMatchObject({ ok: true, records: 600, first_seq: 1, last_seq: 600 });
    await shipper.close();
    await store.close();
    client.disconnect();
    check.disconnect();
  });
});
