import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/xds/types.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, policyAllowing, putPolicy, startReplica, type Replica } from './replicas.js';

const NODE = { id: 'gw-b', cluster: 'egress-gateway', locality: {}, user_agent_name: 'envoy', user_agent_version: '1.34.0' };

describe.skipIf(!redisAvailable())('replicas share one policy through Redis', () => {
  let redis: RedisProcess;
  let a: Replica;
  let b: Replica;
  let envoyB: EnvoyExtAuthzDriver;
  let gatewayB: XdsSotwDriver;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startReplica('a', redis.url, { policy: policyAllowing(['api.one.example']) });
    b = await startReplica('b', redis.url, { policy: policyAllowing(['api.one.example']) });
    envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
    gatewayB = new XdsSotwDriver({ address: `127.0.0.1:${b.grpcPort}`, node: NODE });
    gatewayB.connect();
    await gatewayB.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'initial sync');
  });
  afterAll(async () => {
    envoyB?.close();
    gatewayB?.close();
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  const checkB = (host: string) => envoyB.check({ method: 'GET', authority: host, path: '/' });

  it('two replicas started with the same policy file serve the same version', () => {
    expect(b.policies.current.version).toBe(a.policies.current.version);
    expect(b.policies.current.etag).toBe(a.policies.current.etag);
  });

  it("a PUT on replica A changes replica B's decisions and the xDS snapshot B serves", async () => {
    expect((await checkB('api.two.example')).allowed).toBe(false);
    // A gateway on A too: its routes arrive on the same schedule, so any difference is the trip through Redis.
    const gatewayA = new XdsSotwDriver({ address: `127.0.0.1:${a.grpcPort}`, node: { ...NODE, id: 'gw-a' } });
    gatewayA.connect();
    await gatewayA.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'A initial sync');
    const before = gatewayB.versionOf(TYPE_URL.route);
    const beforeA = gatewayA.versionOf(TYPE_URL.route);
    const started = performance.now();
    const put = await putPolicy(a, policyAllowing(['api.one.example', 'api.two.example']));
    expect(put.status).toBe(200);
    const { version } = (await put.json()) as { version: number };
    const decideMs = await eventually(async () => (await checkB('api.two.example')).allowed, 'B to allow api.two.example');
    const xds = await Promise.all(
      [
        [gatewayA, beforeA],
        [gatewayB, before],
      ].map(async ([gw, was]) => {
        await (gw as XdsSotwDriver).waitFor((d) => d.versionOf(TYPE_URL.route) !== was, 'new routes');
        return performance.now() - started;
      }),
    );
    gatewayA.close();
    console.log(`propagation A→B: B decides ${decideMs.toFixed(1)} ms after the PUT answered; new routes on A's gateway ${xds[0]!.toFixed(1)} ms, on B's ${xds[1]!.toFixed(1)} ms after the PUT was sent`);
    expect(b.policies.current.version).toBe(version);
    const routes = [...gatewayB.holds(TYPE_URL.route).values()].map((r) => r.toString('latin1')).join('');
    expect(routes).toContain('api.two.example');
  });

  it('concurrent PUTs with the same ETag on two replicas: one wins, the other gets 409', async () => {
    const etag = a.policies.current.etag;
    expect(b.policies.current.etag).toBe(etag);
    const [ra, rb] = await Promise.all([putPolicy(a, policyAllowing(['api.a.example']), etag), putPolicy(b, policyAllowing(['api.b.example']), etag)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const loser = ra.status === 409 ? ra : rb;
    const body = (await loser.json()) as { error: string; current_etag: string };
    expect(body.error).toBe('etag_mismatch');
    await eventually(() => a.policies.current.etag === b.policies.current.etag, 'both replicas on the winner');
    expect(body.current_etag).toBe(a.policies.current.etag);
  });

  it('a stale ETag is refused on the replica that did not take the write', async () => {
    const stale = b.policies.current.etag;
    expect((await putPolicy(a, policyAllowing(['api.c.example']))).status).toBe(200);
    await eventually(() => b.policies.current.etag !== stale, 'B to adopt');
    const res = await putPolicy(b, policyAllowing(['api.d.example']), stale);
    expect(res.status).toBe(409);
  });

  it('a PUT without If-Match on a replica that missed a notice goes on top of the newest version, not over it', async () => {
    const v = a.policies.current.version;
    // Two writes back to back through different replicas, no If-Match: both land, versions strictly increase.
    const [r1, r2] = await Promise.all([putPolicy(a, policyAllowing(['api.e.example'])), putPolicy(b, policyAllowing(['api.f.example']))]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const versions = [((await r1.json()) as { version: number }).version, ((await r2.json()) as { version: number }).version].sort();
    expect(versions).toEqual([v + 1, v + 2]);
    await eventually(() => a.policies.current.version === v + 2 && b.policies.current.version === v + 2, 'both on the newest');
  });
});
