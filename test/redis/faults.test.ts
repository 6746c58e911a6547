import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { redisAvailable, redisCommand, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, policyAllowing, putPolicy, startReplica, type Replica } from './replicas.js';

const P1 = policyAllowing(['api.one.example']);
const P2 = policyAllowing(['api.one.example', 'api.two.example']);

describe.skipIf(!redisAvailable())('Redis faults: nothing opened, nothing lost that was promised', () => {
  let redis: RedisProcess;
  let a: Replica;
  let b: Replica;
  let c: Replica | undefined;
  let envoyB: EnvoyExtAuthzDriver;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startReplica('a', redis.url, { policy: P1 });
    b = await startReplica('b', redis.url, { policy: P1 });
    envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
    expect((await putPolicy(a, P2)).status).toBe(200);
    await eventually(() => b.policies.current.version === a.policies.current.version, 'B to adopt version 2');
  });
  afterAll(async () => {
    envoyB?.close();
    await c?.stop();
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  const checkB = (host: string, source = '10.0.5.7') => envoyB.check({ method: 'GET', authority: host, path: '/', sourceAddress: source });

  it('Redis killed mid-traffic: Checks keep answering from the last good policy, never failing open', async () => {
    let answered = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const [ok, denied] = await Promise.all([checkB('api.two.example'), checkB('evil.example')]);
        expect(ok.allowed).toBe(true);
        expect(denied.allowed).toBe(false);
        answered += 2;
      }
    })();
    await eventually(() => answered >= 10, 'traffic before the kill');
    await redis.kill();
    const atKill = answered;
    await eventually(() => answered >= atKill + 50, 'traffic after the kill');
    stop = true;
    await traffic;
    console.log(`Checks answered across the Redis kill: ${answered} (${answered - atKill} after it)`);
  });

  it('while Redis is down /readyz says degraded with the reason, and a PUT answers 503 naming Redis', async () => {
    await eventually(async () => ((await (await a.admin('/readyz')).json()) as { status: string }).status === 'degraded', 'A degraded');
    const ready = await a.admin('/readyz');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; reasons: Array<{ component: string; reason: string }> };
    expect(body.reasons[0]?.component).toBe('redis');
    expect(body.reasons[0]?.reason).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
    const version = a.policies.current.version;
    const put = await putPolicy(a, policyAllowing(['api.three.example']));
    expect(put.status).toBe(503);
    const err = (await put.json()) as { error: string; message: string; code: string };
    expect(err.code).toBe('REDIS_UNAVAILABLE');
    expect(err.message).toContain(`version ${version} keeps serving`);
    expect(a.policies.current.version).toBe(version);
    const inv = await a.admin('/v1/inventory/destinations');
    expect(inv.status).toBe(503);
    expect(((await inv.json()) as { message: string }).message).toMatch(/Redis at .* is unreachable: the fleet inventory cannot be read/);
    // The data directory is fine: only Redis is named.
    expect(a.storage.healthy).toBe(true);
    const after = (await (await a.admin('/readyz')).json()) as { status: string; reasons: Array<{ component: string }> };
    expect([after.status, after.reasons.map((r) => r.component)]).toEqual(['degraded', ['redis']]);
  });

  it('inventory deltas taken while Redis is down are written when it returns', async () => {
    for (let i = 0; i < 7; i++) await checkB('api.one.example', '10.9.9.9');
    await redis.restart();
    await eventually(async () => ((await (await b.admin('/readyz')).json()) as { status: string }).status === 'ready', 'B ready again');
    await eventually(async () => {
      const res = (await (await b.admin('/v1/inventory/destinations?identity=unknown&limit=100')).json()) as { items: Array<{ destination: string; requests: number }> };
      return res.items.some((e) => e.destination.startsWith('api.one.example') && e.requests >= 7);
    }, 'the outage traffic in the inventory');
  });

  it('Redis restarted empty is re-seeded with the newest policy, and an older replica joining adopts it rather than overwriting it', async () => {
    const newest = a.policies.current;
    const docKey = '{tollgate}:policy:doc';
    await eventually(async () => (await redisCommand(redis.port, `HGET ${docKey} version`)) !== '$-1', 're-seed');
    // A replica with only the old policy file joins the emptied fleet store.
    c = await startReplica('c', redis.url, { policy: P1 });
    await eventually(() => c!.policies.current.version === newest.version, 'C on the newest version');
    expect(c.policies.current.etag).toBe(newest.etag);
    expect(b.policies.current.etag).toBe(newest.etag);
    const envoyC = new EnvoyExtAuthzDriver(c.grpcPort);
    try {
      expect((await envoyC.check({ method: 'GET', authority: 'api.two.example', path: '/' })).allowed).toBe(true);
    } finally {
      envoyC.close();
    }
  });
});
