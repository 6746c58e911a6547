import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditShipper } from '../../src/audit/shipper.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { verifyReplica } from '../../src/store/redis/audit-verify.js';
import { tempDataDir } from '../audit/fixtures.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { allShipped, shipperClient, testClient, waitUntil } from './audit-helpers.js';

const CHILD = fileURLToPath(new URL('./audit-ship-child.ts', import.meta.url));

describe.skipIf(!redisAvailable())('a replica killed while shipping its audit log', () => {
  let redis: RedisProcess;
  const dir = tempDataDir();
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes after a restart from where Redis says it stopped: every local record in Redis exactly once, the chain verifies', async () => {
    const check = await testClient(redis.url);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, redis.url, 'k1', 'kill'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitUntil(async () => Number((await check.hget('{kill:audit:k1}:cursor', 'seq')) ?? 0) >= 3000, 'the child to ship 3,000 records', 60_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const atKill = Number(await check.hget('{kill:audit:k1}:cursor', 'seq'));

    // The restarted replica: recovery cuts any torn tail (never a durable record), then shipping resumes.
    const store = await EmbeddedAuditStore.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    const local = store.stats().last_seq;
    expect(local).toBeGreaterThanOrEqual(atKill);
    const client = await shipperClient(redis.url);
    const shipper = new AuditShipper({ redis: client, local: store, replica: 'k1', prefix: 'kill', trimEveryMs: 0 });
    await shipper.drain();
    expect(shipper.status()).toMatchObject({ shipped_seq: local, reships: 0 });
    const ids = await allShipped(check, 'kill');
    expect(ids).toHaveLength(local);
    expect(new Set(ids).size).toBe(local);
    expect(await verifyReplica(check, 'kill', 'k1')).toMatchObject({ ok: true, records: local, first_seq: 1, last_seq: local });
    await store.close();
    client.disconnect();
    check.disconnect();
  });
});
