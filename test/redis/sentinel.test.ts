import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { redisAvailable, startRedisSentinel, type RedisSentinelSetup } from '../support/redis.js';
import { eventually, policyAllowing, putPolicy, startReplica, type Replica } from './replicas.js';

describe.skipIf(!redisAvailable())('replicas behind a Redis Sentinel', () => {
  let sentinel: RedisSentinelSetup;
  let a: Replica;
  let b: Replica;
  let envoyB: EnvoyExtAuthzDriver;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    a = await startReplica('a', sentinel.url, { policy: policyAllowing(['api.one.example']) });
    b = await startReplica('b', sentinel.url, { policy: policyAllowing(['api.one.example']) });
    envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
  });
  afterAll(async () => {
    envoyB?.close();
    await b?.stop();
    await a?.stop();
    await sentinel?.stop();
  });

  it('after the master dies and the Sentinel promotes the replica, a PUT on A reaches B again', async () => {
    expect((await putPolicy(a, policyAllowing(['api.one.example', 'api.two.example']))).status).toBe(200);
    await eventually(() => b.policies.current.version === a.policies.current.version, 'B on version 2');
    const started = performance.now();
    await sentinel.failover();
    let put: Response | undefined;
    await eventually(async () => {
      put = await putPolicy(a, policyAllowing(['api.three.example']));
      return put.status === 200;
    }, 'a PUT accepted by the new master', 30_000);
    console.log(`Sentinel failover: PUT accepted again ${(performance.now() - started).toFixed(0)} ms after the master was killed`);
    await eventually(async () => (await envoyB.check({ method: 'GET', authority: 'api.three.example', path: '/' })).allowed, 'B to allow api.three.example', 30_000);
    expect(b.policies.current.etag).toBe(a.policies.current.etag);
    expect((await envoyB.check({ method: 'GET', authority: 'api.two.example', path: '/' })).allowed).toBe(false);
  });
});
