import { afterAll, describe, expect, it } from 'vitest';
import { redisAvailable, redisCommand, startRedis, startRedisSentinel, type RedisProcess } from '../support/redis.js';

describe.skipIf(!redisAvailable())('test support: a real redis-server', () => {
  let redis: RedisProcess | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('starts on a free port, answers PING, and comes back empty after kill and restart', async () => {
    redis = await startRedis();
    expect(await redisCommand(redis.port, 'SET k v')).toBe('+OK');
    await redis.kill();
    expect(await redisCommand(redis.port, 'PING', 300)).toBeUndefined();
    await redis.restart();
    expect(await redisCommand(redis.port, 'EXISTS k')).toBe(':0');
  });

  it('a Sentinel promotes the replica when the master dies', async () => {
    const s = await startRedisSentinel();
    try {
      expect(await redisCommand(s.sentinelPort, `SENTINEL get-master-addr-by-name ${s.masterName}`)).toBe('*2');
      await s.failover();
    } finally {
      await s.stop();
    }
  });
});
