import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { redisAvailable, startRedisCluster, type RedisClusterSetup } from '../support/redis.js';
import { eventually, policyAllowing, putPolicy, startReplica, type Replica } from './replicas.js';

describe.skipIf(!redisAvailable())('replicas on a Redis Cluster of three masters', () => {
  let cluster: RedisClusterSetup;
  let a: Replica;
  let b: Replica;
  let envoyA: EnvoyExtAuthzDriver;
  let envoyB: EnvoyExtAuthzDriver;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    a = await startReplica('a', cluster.url, { policy: policyAllowing(['api.one.example']) });
    b = await startReplica('b', cluster.url, { policy: policyAllowing(['api.one.example']) });
    envoyA = new EnvoyExtAuthzDriver(a.grpcPort);
    envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
  }, 60_000);
  afterAll(async () => {
    envoyA?.close();
    envoyB?.close();
    await b?.stop();
    await a?.stop();
    await cluster?.stop();
  });

  it('a PUT on A reaches B, and a stale ETag is refused: the policy scripts run in one slot', async () => {
    const stale = a.policies.current.etag;
    expect((await putPolicy(a, policyAllowing(['api.one.example', 'api.two.example']))).status).toBe(200);
    await eventually(async () => (await envoyB.check({ method: 'GET', authority: 'api.two.example', path: '/' })).allowed, 'B to allow api.two.example');
    expect((await putPolicy(b, policyAllowing(['api.x.example']), stale)).status).toBe(409);
  });

  it('traffic on both replicas lands in one inventory across the slots of several tables', async () => {
    for (let i = 0; i < 3; i++) await envoyA.check({ method: 'GET', authority: 'api.one.example', path: '/' });
    for (let i = 0; i < 4; i++) await envoyB.check({ method: 'GET', authority: 'api.one.example', path: '/' });
    await eventually(async () => {
      const res = (await (await a.admin('/v1/inventory/destinations')).json()) as { items: Array<{ destination: string; requests: number }> };
      return res.items.some((e) => e.destination.startsWith('api.one.example') && e.requests === 7);
    }, 'seven requests in one edge');
  });
});
