import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { bodyVersion, TYPE_URL } from '../../src/xds/types.js';
import { XdsDeltaDriver } from '../drivers/xds-delta-driver.js';
import { startAds, type RunningAds } from './fixtures/ads-server.js';
import { egressResources, egressSnapshot } from './fixtures/egress-snapshot.js';
import { edsCluster, loadAssignment, routeConfig } from './fixtures/resources.js';

const GROUP = 'egress-gateway';
const NODE = { id: 'envoy-1', cluster: GROUP, locality: { region: 'eu', zone: 'eu-1a' }, user_agent_name: 'envoy', user_agent_version: '1.31.0' };

const V1 = { eds: { api: [9001], web: [9002] }, dns: { stripe: 'api.stripe.com' }, routeTo: 'api' };

let ads: RunningAds;
let drivers: XdsDeltaDriver[] = [];

function driver(node = NODE, reject?: XdsDeltaDriver['reject']): XdsDeltaDriver {
  const d = new XdsDeltaDriver({ address: ads.address, node, ...(reject ? { reject } : {}) });
  drivers.push(d);
  return d;
}

async function synced(d: XdsDeltaDriver): Promise<void> {
  d.connect();
  await d.waitFor((x) => x.holds(TYPE_URL.route).has('egress-routes'), 'initial sync through RDS');
  await d.settle();
}

function resourcesAfter(d: XdsDeltaDriver, from: number): Array<{ typeUrl: string; names: string[]; removed: string[] }> {
  return d.received.slice(from).map((r) => ({ typeUrl: r.typeUrl, names: r.resources.map((x) => x.name), removed: r.removed }));
}

beforeEach(async () => {
  ads = await startAds();
  expect(ads.cache.setSnapshot(GROUP, egressSnapshot('v1', V1)).ok).toBe(true);
});

afterEach(async () => {
  for (const d of drivers) d.close();
  drivers = [];
  await ads.close();
});

describe('delta ADS', () => {
  it('an Envoy-like delta client syncs clusters, endpoints, listeners then routes and every type is ACKed', async () => {
    const d = driver();
    await synced(d);

    expect([...d.holds(TYPE_URL.cluster).keys()].sort()).toEqual(['api', 'stripe', 'web']);
    expect([...d.holds(TYPE_URL.endpoint).keys()].sort()).toEqual(['api', 'web']);
    expect([...d.holds(TYPE_URL.listener).keys()]).toEqual(['egress']);
    expect([...d.holds(TYPE_URL.route).keys()]).toEqual(['egress-routes']);
    expect(d.received.map((r) => r.typeUrl)).toEqual([TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route]);
    // The per-resource version is the SHA-256 prefix the builders computed.
    const snap = ads.cache.getSnapshot(GROUP);
    expect(d.holds(TYPE_URL.cluster).get('api')?.version).toBe(snap?.get(TYPE_URL.cluster, 'api')?.version);
    // Only the first request carries the node.
    expect(d.sent.filter((r) => r.node).length).toBe(1);

    const [node] = ads.status.list();
    expect(node).toMatchObject({
      nodeId: 'envoy-1',
      cluster: GROUP,
      kind: 'delta',
      locality: { region: 'eu', zone: 'eu-1a', subZone: '' },
      userAgent: { name: 'envoy', version: '1.31.0' },
      snapshotVersion: 'v1',
    });
    expect(node?.types.map((t) => [t.typeUrl, t.state, t.lastAckedVersion])).toEqual(
      expect.arrayContaining([
        [TYPE_URL.cluster, 'acked', 'v1'],
        [TYPE_URL.endpoint, 'acked', 'v1'],
        [TYPE_URL.listener, 'acked', 'v1'],
        [TYPE_URL.route, 'acked', 'v1'],
      ]),
    );
  });

  it('a changed snapshot pushes only the changed resources over delta', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;

    const acked = new Set<string>();
    let elapsed = 0;
    const started = performance.now();
    const stop = ads.status.subscribe((e) => {
      if (e.kind === 'ack' && e.version === 'v2') acked.add(e.typeUrl);
      if (acked.size === 2 && elapsed === 0) elapsed = performance.now() - started;
    });
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [9003] }, routeTo: 'web' }));
    await d.waitFor(() => elapsed > 0, 'EDS and RDS of v2 ACKed');
    stop();
    await d.settle();

    const pushed = resourcesAfter(d, before);
    expect(pushed).toEqual([
      { typeUrl: TYPE_URL.endpoint, names: ['web'], removed: [] },
      { typeUrl: TYPE_URL.route, names: ['egress-routes'], removed: [] },
    ]);
    const count = pushed.reduce((n, r) => n + r.names.length, 0);
    expect(count).toBe(2);
    expect(elapsed).toBeLessThan(1000);
    console.log(`delta push of a 2-resource change (of 8 resources): ${count} sent, all ACKed ${elapsed.toFixed(1)} ms after setSnapshot`);
  });

  it('a resource removed from the snapshot arrives in removed_resources', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;

    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, dns: {} }));
    await d.waitFor((x) => !x.holds(TYPE_URL.cluster).has('stripe'), 'stripe removed');
    await d.settle();
    expect(resourcesAfter(d, before)).toEqual([{ typeUrl: TYPE_URL.cluster, names: [], removed: ['stripe'] }]);
  });

  it('clusters are removed only after the routes that named them have moved on (make before break)', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;

    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { eds: { web: [9002], payments: [9005] }, dns: V1.dns, routeTo: 'payments' }));
    await d.waitFor((x) => !x.holds(TYPE_URL.cluster).has('api') && x.holds(TYPE_URL.endpoint).has('payments'), 'swap done');
    await d.settle();

    expect(resourcesAfter(d, before)).toEqual([
      { typeUrl: TYPE_URL.cluster, names: ['payments'], removed: [] },
      { typeUrl: TYPE_URL.endpoint, names: ['payments'], removed: [] },
      { typeUrl: TYPE_URL.route, names: ['egress-routes'], removed: [] },
      { typeUrl: TYPE_URL.cluster, names: [], removed: ['api'] },
      { typeUrl: TYPE_URL.endpoint, names: [], removed: ['api'] },
    ]);
  });

  it('a reconnecting client announcing initial_resource_versions is not sent what it already holds', async () => {
    const d = driver();
    await synced(d);
    d.disconnect();
    await new Promise((r) => setTimeout(r, 50));

    const before = d.received.length;
    d.connect();
    await d.settle(250);
    const after = d.received.slice(before);
    expect(after.flatMap((r) => r.resources)).toEqual([]);
    expect(after.flatMap((r) => r.removed)).toEqual([]);
    // Wildcard types reconnect with an empty subscribe list and the versions they hold.
    const cds = d.sent.filter((r) => r.type_url === TYPE_URL.cluster && r.initial_resource_versions).at(-1);
    expect(cds?.resource_names_subscribe ?? []).toEqual([]);
    expect(Object.keys(cds?.initial_resource_versions ?? {}).sort()).toEqual(['api', 'stripe', 'web']);
    expect(ads.status.list()).toHaveLength(1);
  });

  it('a client reconnecting after a change gets only the change', async () => {
    const d = driver();
    await synced(d);
    d.disconnect();
    await new Promise((r) => setTimeout(r, 50));
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [9004] }, dns: {} }));

    const before = d.received.length;
    d.connect();
    await d.waitFor((x) => !x.holds(TYPE_URL.cluster).has('stripe'), 'stripe removed after reconnect');
    await d.settle();
    const after = d.received.slice(before);
    expect(after.flatMap((r) => r.resources.map((x) => `${r.typeUrl.split('.').at(-1)}/${x.name}`))).toEqual(['ClusterLoadAssignment/web']);
    expect(after.flatMap((r) => r.removed)).toEqual(['stripe']);
  });

  it('a NACK is recorded with its error_detail and the rejected version is not re-sent in a loop', async () => {
    const bad = egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [1] } });
    const badVersion = bad.get(TYPE_URL.endpoint, 'web')?.version;
    const d = driver(NODE, (typeUrl, resources) =>
      typeUrl === TYPE_URL.endpoint && resources.some((r) => r.name === 'web' && bodyVersion(r.body) === badVersion)
        ? 'endpoint web: malformed address'
        : undefined,
    );
    await synced(d);
    ads.cache.setSnapshot(GROUP, bad);
    await d.waitFor((x) => x.received.some((r) => r.answer === 'nack'), 'NACK sent');
    await new Promise((r) => setTimeout(r, 500));

    const withBad = d.received.filter((r) => r.resources.some((x) => x.version === badVersion));
    expect(withBad).toHaveLength(1);
    const eds = ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.endpoint);
    expect(eds).toMatchObject({ state: 'nacked', lastAckedVersion: 'v1', lastNack: { message: 'endpoint web: malformed address', code: 13, rejectedVersion: 'v2' } });

    ads.cache.setSnapshot(GROUP, egressSnapshot('v3', { ...V1, eds: { api: [9001], web: [9009] } }));
    await d.waitFor(() => ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.endpoint)?.lastAckedVersion === 'v3', 'v3 ACKed');
  });

  it('a NACKed resource is retried once after an earlier type moved on', async () => {
    const d: XdsDeltaDriver = driver(NODE, (typeUrl, resources) =>
      typeUrl === TYPE_URL.endpoint && resources.some((r) => r.name === 'web') && d.received.length >= 4 && !d.holds(TYPE_URL.cluster).has('late')
        ? 'endpoint web needs cluster late'
        : undefined,
    );
    await synced(d);
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [9020] } }));
    await d.waitFor((x) => x.received.some((r) => r.answer === 'nack'), 'NACK');
    ads.cache.setSnapshot(GROUP, egressSnapshot('v3', { ...V1, eds: { api: [9001], web: [9020] }, dns: { ...V1.dns, late: 'late.example' } }));
    await d.waitFor((x) => x.responsesOf(TYPE_URL.endpoint).at(-1)?.answer === 'ack' && x.holds(TYPE_URL.cluster).has('late'), 'retry accepted');
    await d.settle();
    expect(d.responsesOf(TYPE_URL.endpoint).slice(1).map((r) => `${r.resources.map((x) => x.name).join(',')}:${r.answer}`)).toEqual(['web:nack', 'web:ack']);
  });

  it('a stream connected before any snapshot exists is served as soon as one is published', async () => {
    const d = driver({ ...NODE, id: 'early', cluster: 'new-group' });
    d.connect();
    await d.settle(150);
    expect(d.received).toEqual([]);
    expect(ads.status.list().find((n) => n.nodeId === 'early')?.snapshotVersion).toBeUndefined();
    ads.cache.setSnapshot('new-group', egressSnapshot('g1', V1));
    await d.waitFor((x) => x.holds(TYPE_URL.route).has('egress-routes'), 'sync after publish');
  });

  it('an inconsistent snapshot is refused with its reasons and the last good one keeps serving', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;

    const broken = Snapshot.from('v2', [...egressResources(V1).filter((r) => r.name !== 'egress-routes'), routeConfig('egress-routes', 'nowhere')]);
    const result = ads.cache.setSnapshot(GROUP, broken);
    expect(result).toMatchObject({ ok: false, serving: 'v1' });
    expect(result.ok ? [] : result.reasons).toEqual(['route configuration "egress-routes" names cluster "nowhere", which is not in the snapshot']);
    expect(ads.cache.lastRefusal(GROUP)?.version).toBe('v2');
    await d.settle(200);
    expect(d.received.length).toBe(before);

    const late = driver({ ...NODE, id: 'envoy-2' });
    await synced(late);
    expect(late.received.every((r) => r.systemVersion === 'v1')).toBe(true);
  });

  it('an unsubscribed name gets no more updates and a subscribed missing name is answered as removed', async () => {
    const d = driver();
    await synced(d);
    d.unsubscribe(TYPE_URL.endpoint, ['web']);
    d.subscribe(TYPE_URL.endpoint, ['ghost']);
    await d.waitFor((x) => x.received.some((r) => r.removed.includes('ghost')), 'ghost answered as removed');
    await d.settle();
    const before = d.received.length;

    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [9012] } }));
    await d.settle(250);
    expect(d.received.slice(before).filter((r) => r.typeUrl === TYPE_URL.endpoint)).toEqual([]);

    // The missing name is delivered as soon as it exists.
    ads.cache.setSnapshot(GROUP, egressSnapshot('v3', { ...V1, extra: [edsCluster('ghost'), loadAssignment('ghost', [{ host: '127.0.0.1', port: 9013 }])] }));
    await d.waitFor((x) => x.holds(TYPE_URL.endpoint).has('ghost'), 'ghost delivered');
  });

  it('"*" subscribes a delta client to every resource of a type', async () => {
    const d = driver();
    await synced(d);
    d.subscribe(TYPE_URL.route, ['*']);
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, extra: [routeConfig('other-routes', 'web')] }));
    await d.waitFor((x) => x.holds(TYPE_URL.route).has('other-routes'), 'unreferenced route delivered through "*"');
  });

  it('a malformed request ends the stream with INVALID_ARGUMENT and the server keeps serving', async () => {
    const raw = driver();
    raw.connect();
    await raw.waitFor((x) => x.received.length > 0, 'first response');
    // A request without a type_url.
    (raw as unknown as { send(req: object): void }).send({ resource_names_subscribe: ['x'] });
    await raw.waitFor((x) => x.status !== undefined, 'stream status');
    expect(raw.status?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(raw.status?.details).toMatch(/type_url/);

    const anonymous = driver({ id: '' } as typeof NODE);
    anonymous.connect();
    await anonymous.waitFor((x) => x.status !== undefined, 'stream status');
    expect(anonymous.status?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(anonymous.status?.details).toMatch(/node/);

    await synced(driver({ ...NODE, id: 'envoy-after' }));
  });
});
