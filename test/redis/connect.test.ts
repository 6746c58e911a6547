import { describe, expect, it } from 'vitest';
import { describeTarget, parseRedisUrl, RedisKeys } from '../../src/redis/connect.js';
import { loadConfig } from '../../src/config/config.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { freePort } from '../support/redis.js';

describe('TOLLGATE_REDIS_URL forms', () => {
  it('redis:// and rediss:// select one server, with a database and credentials', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toMatchObject({ kind: 'standalone', tls: false, db: 0 });
    expect(parseRedisUrl('rediss://user:pa%40ss@redis.example:6380/3')).toMatchObject({ kind: 'standalone', tls: true, db: 3 });
  });

  it('redis+sentinel:// lists the Sentinels, then the master name and an optional database', () => {
    expect(parseRedisUrl('redis+sentinel://:secret@s1:26379,s2/mymaster/2')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 2,
      password: 'secret',
    });
  });

  it('redis+cluster:// lists seed nodes', () => {
    expect(parseRedisUrl('redis+cluster://n1:7000,n2:7001,[::1]:7002')).toMatchObject({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: '::1', port: 7002 }] });
  });

  it('a bad URL is refused with the expected form, never echoing the password', () => {
    expect(() => parseRedisUrl('redis+sentinel://user:hunter2@s1:26379')).toThrow(/names the master/);
    expect(() => parseRedisUrl('memcached://x')).toThrow(/unknown scheme/);
    expect(() => parseRedisUrl('redis://h:1/abc')).toThrow(/database must be a number/);
    expect(() => parseRedisUrl('redis+cluster://user:hunter2@n1:7000/1')).toThrow(/no databases/);
    try {
      parseRedisUrl('redis+cluster://user:hunter2@n1:7000/1');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(describeTarget(parseRedisUrl('redis://user:hunter2@h:6379'))).toBe('redis://h:6379');
  });

  it('keys of one concern share a hash tag, so multi-key scripts stay in one Cluster slot', () => {
    const k = new RedisKeys('tollgate:');
    expect([k.policyDoc, k.generation, k.policyChannel]).toEqual(['{tollgate}:policy:doc', '{tollgate}:generation', '{tollgate}:policy:changed']);
    expect(k.inventoryRecord('edges', 'x')).toBe('{tollgate:inv:edges}:rec:x');
    expect(k.inventoryKeys('edges')).toBe('{tollgate:inv:edges}:keys');
    expect(new RedisKeys('acme').policyDoc).toBe('{acme}:policy:doc');
  });

  it('the Redis settings come from the environment, and without a URL nothing changes', () => {
    expect(loadConfig({}, {}).redisUrl).toBeUndefined();
    const c = loadConfig({}, { TOLLGATE_REDIS_URL: 'redis://127.0.0.1:6379', TOLLGATE_REDIS_PREFIX: 'acme:', TOLLGATE_REPLICA_ID: 'tg-0' });
    expect([c.redisUrl, c.redisPrefix, c.replicaId]).toEqual(['redis://127.0.0.1:6379', 'acme:', 'tg-0']);
    expect(loadConfig({}, {}).replicaId).toMatch(/-\d+$/);
  });

  it('a Redis that cannot be reached at start-up is an error naming the address and the cause', async () => {
    const port = await freePort();
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    await expect(RedisConnection.open({ url: `redis://user:hunter2@127.0.0.1:${port}`, replicaId: 't', log })).rejects.toThrow(new RegExp(`cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  });
});
