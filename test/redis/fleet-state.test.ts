import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { WebhookReceiver } from '../alerts/support/receiver.js';
import { redisAvailable, startRedis, type RedisProcess } from '../support/redis.js';
import { eventually, putPolicy, startReplica, type Replica } from './replicas.js';

const policy = (hook: string) => `version: 1
identities:
  - name: web
    match: { sourceCidr: ["10.0.5.0/24"] }
  - name: batch
    match: { sourceCidr: ["10.0.6.0/24"] }
egress:
  - identity: "*"
    allow:
      - { id: one, host: api.one.example }
      - { id: two, host: api.two.example }
alerts:
  sinks:
    - { name: hook, type: webhook, url: "${hook}" }
  rules:
    - { name: new-dest, type: new_destination, learningPeriod: 1ms, sinks: [hook] }
    - { name: denials, type: denied, threshold: 1, window: 1m, sinks: [hook] }
`;

interface Edge {
  identity: string;
  destination: string;
  requests: number;
}

describe.skipIf(!redisAvailable())('replicas share inventory, alerts and the xDS fleet view through Redis', () => {
  let redis: RedisProcess;
  let hook: WebhookReceiver;
  let a: Replica;
  let b: Replica;
  let envoyA: EnvoyExtAuthzDriver;
  let envoyB: EnvoyExtAuthzDriver;

  beforeAll(async () => {
    redis = await startRedis();
    hook = await new WebhookReceiver().start();
    a = await startReplica('a', redis.url, { policy: policy(hook.url) });
    b = await startReplica('b', redis.url, { policy: policy(hook.url) });
    envoyA = new EnvoyExtAuthzDriver(a.grpcPort);
    envoyB = new EnvoyExtAuthzDriver(b.grpcPort);
  });
  afterAll(async () => {
    envoyA?.close();
    envoyB?.close();
    await b?.stop().catch(() => undefined); // the last test stops it already
    await a?.stop();
    await hook?.stop();
    await redis?.stop();
  });

  const edges = async (r: Replica): Promise<Edge[]> => ((await (await r.admin('/v1/inventory/destinations?limit=100')).json()) as { items: Edge[] }).items;

  it('traffic on replica A and replica B appears in one inventory, read from either', async () => {
    for (let i = 0; i < 3; i++) await envoyA.check({ method: 'GET', authority: 'api.one.example', path: '/', sourceAddress: '10.0.5.7' });
    for (let i = 0; i < 2; i++) await envoyB.check({ method: 'GET', authority: 'api.one.example', path: '/', sourceAddress: '10.0.5.8' });
    await envoyB.check({ method: 'GET', authority: 'api.two.example', path: '/', sourceAddress: '10.0.6.1' });
    const want = (list: Edge[]) => list.map((e) => `${e.identity} ${e.destination} ${e.requests}`).sort();
    const expected = ['batch api.two.example:443 1', 'web api.one.example:443 5'];
    await eventually(async () => JSON.stringify(want(await edges(a))) === JSON.stringify(expected), 'A to show the fleet inventory');
    expect(want(await edges(b))).toEqual(expected);
  });

  it('an alert fires once for the fleet, not once per replica', async () => {
    const from = hook.deliveries.length;
    // Each replica sees the same identity denied twice (over the threshold of 1): both would alert alone.
    for (const envoy of [envoyA, envoyB]) for (let i = 0; i < 2; i++) await envoy.check({ method: 'GET', authority: 'evil.example', path: '/', sourceAddress: '10.0.5.9' });
    await eventually(() => hook.deliveries.slice(from).some((d) => d.body.includes('"denials"')), 'the denied alert');
    // Both replicas have evaluated their events by the time both have recorded them in the shared inventory.
    await eventually(async () => (await edges(a)).filter((e) => e.destination.startsWith('evil.example')).reduce((n, e) => n + e.requests, 0) === 4, 'all four denials folded').catch(async (err: unknown) => {
      console.log(JSON.stringify(await edges(a)));
      throw err;
    });
    await a.events.flush();
    await b.events.flush();
    await new Promise((r) => setTimeout(r, 300));
    const denials = hook.deliveries.slice(from).filter((d) => d.body.includes('"denials"'));
    expect(denials).toHaveLength(1);
    const listed = (await (await b.admin('/v1/alerts?rule=denials')).json()) as { count: number };
    expect(listed.count).toBe(1);
  });

  it('a destination one replica already saw is not "new" on another', async () => {
    const from = hook.deliveries.length;
    await envoyA.check({ method: 'GET', authority: 'api.two.example', path: '/', sourceAddress: '10.0.5.20' });
    await eventually(() => hook.deliveries.slice(from).some((d) => d.body.includes('"new-dest"') && d.body.includes('api.two.example')), 'the new_destination alert');
    await envoyB.check({ method: 'GET', authority: 'api.two.example', path: '/', sourceAddress: '10.0.5.21' });
    await eventually(async () => (await edges(b)).some((e) => e.identity === 'web' && e.destination === 'api.two.example:443' && e.requests === 2), 'B folded its request');
    await b.events.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.deliveries.slice(from).filter((d) => d.body.includes('"new-dest"') && d.body.includes('web') && d.body.includes('api.two.example'))).toHaveLength(1);
  });

  it("/v1/xds/nodes on any replica lists every replica's Envoys with the replica serving each", async () => {
    const gw1 = new XdsSotwDriver({ address: `127.0.0.1:${a.grpcPort}`, node: { id: 'gw-1', cluster: 'egress' } });
    const gw2 = new XdsSotwDriver({ address: `127.0.0.1:${b.grpcPort}`, node: { id: 'gw-2', cluster: 'egress' } });
    try {
      gw1.connect();
      gw2.connect();
      await gw1.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'gw-1 sync');
      await gw2.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'gw-2 sync');
      const served = async (r: Replica) => ((await (await r.admin('/v1/xds/nodes')).json()) as { nodes: Array<{ nodeId: string; replica: string }> }).nodes.map((n) => `${n.nodeId}@${n.replica}`);
      await eventually(async () => JSON.stringify(await served(a)) === JSON.stringify(['gw-1@a', 'gw-2@b']), 'A to list both gateways');
      await eventually(async () => JSON.stringify(await served(b)) === JSON.stringify(['gw-1@a', 'gw-2@b']), 'B to list both gateways');
    } finally {
      gw1.close();
      gw2.close();
    }
  });

  it('a replica that stops drops out of the fleet view, and the others carry on deciding and writing', async () => {
    const gw3 = new XdsSotwDriver({ address: `127.0.0.1:${b.grpcPort}`, node: { id: 'gw-3', cluster: 'egress' } });
    gw3.connect();
    await gw3.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'gw-3 sync');
    const nodes = async () => ((await (await a.admin('/v1/xds/nodes')).json()) as { nodes: Array<{ nodeId: string }> }).nodes.map((n) => n.nodeId);
    await eventually(async () => (await nodes()).includes('gw-3'), 'A to list gw-3');
    gw3.close();
    envoyB.close();
    await b.stop();
    await eventually(async () => !(await nodes()).includes('gw-3'), 'gw-3 gone with its replica');
    expect((await envoyA.check({ method: 'GET', authority: 'api.one.example', path: '/', sourceAddress: '10.0.5.7' })).allowed).toBe(true);
    expect((await putPolicy(a, policy(hook.url).replace('api.two.example', 'api.four.example'))).status).toBe(200);
    expect((await envoyA.check({ method: 'GET', authority: 'api.four.example', path: '/', sourceAddress: '10.0.5.7' })).allowed).toBe(true);
  });
});
