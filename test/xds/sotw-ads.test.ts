import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { openAdsStream, streamStatus } from '../drivers/ads-client.js';
import { resourceNameOf } from '../drivers/envoy-dependencies.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { startAds, type RunningAds } from './fixtures/ads-server.js';
import { egressSnapshot } from './fixtures/egress-snapshot.js';

const GROUP = 'egress-gateway';
const NODE = { id: 'envoy-sotw', cluster: GROUP, locality: {}, user_agent_name: 'envoy' };
const V1 = { eds: { api: [9001], web: [9002] }, dns: { stripe: 'api.stripe.com' }, routeTo: 'api' };

let ads: RunningAds;
const cleanups: Array<() => void> = [];

function driver(reject?: XdsSotwDriver['reject']): XdsSotwDriver {
  const d = new XdsSotwDriver({ address: ads.address, node: NODE, nameOf: resourceNameOf, ...(reject ? { reject } : {}) });
  cleanups.push(() => d.close());
  return d;
}

async function synced(d: XdsSotwDriver): Promise<void> {
  d.connect();
  await d.waitFor((x) => x.holds(TYPE_URL.route).has('egress-routes'), 'initial sync through RDS');
  await d.settle();
}

/** A bare SotW stream for requests no Envoy-like driver would send. */
function rawStream(): {
  stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  responses: DiscoveryResponse[];
  until: (n: number) => Promise<void>;
} {
  const client = new grpc.Client(ads.address, grpc.credentials.createInsecure());
  const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
  void streamStatus(stream);
  cleanups.push(() => {
    stream.cancel();
    client.close();
  });
  const responses: DiscoveryResponse[] = [];
  stream.on('data', (r: DiscoveryResponse) => responses.push(r));
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 100 && responses.length < n; i++) await new Promise((r) => setTimeout(r, 20));
  };
  return { stream, responses, until };
}

const short = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);

beforeEach(async () => {
  ads = await startAds();
  ads.cache.setSnapshot(GROUP, egressSnapshot('v1', V1));
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await ads.close();
});

describe('state-of-the-world ADS', () => {
  it('an Envoy-like SotW client syncs every type and LDS/CDS responses carry every resource', async () => {
    const d = driver();
    await synced(d);
    expect(d.received.map((r) => `${short(r.typeUrl)}:${[...r.names].sort().join(',')}@${r.version}`)).toEqual([
      'Cluster:api,stripe,web@v1',
      'ClusterLoadAssignment:api,web@v1',
      'Listener:egress@v1',
      'RouteConfiguration:egress-routes@v1',
    ]);
    const [node] = ads.status.list();
    expect(node?.kind).toBe('sotw');
    expect(node?.types.every((t) => t.state === 'acked' && t.lastAckedVersion === 'v1')).toBe(true);
  });

  it('RDS and EDS requests are answered with the names that exist without waiting for missing ones', async () => {
    const { stream, responses, until } = rawStream();
    stream.write({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['api', 'web', 'not-yet'] });
    await until(1);
    expect(responses[0]?.resources?.map((a) => resourceNameOf(TYPE_URL.endpoint, a.value ?? Buffer.alloc(0))).sort()).toEqual(['api', 'web']);

    // The missing name follows as soon as a snapshot has it; the others are sent along (SotW resends the set).
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { ...V1.eds, 'not-yet': [9010] } }));
    stream.write({ type_url: TYPE_URL.endpoint, version_info: 'v1', response_nonce: responses[0]?.nonce ?? '', resource_names: ['api', 'web', 'not-yet'] });
    await until(2);
    expect(responses[1]?.resources).toHaveLength(3);
  });

  it('a new snapshot pushes only the types whose resources changed', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, eds: { api: [9001], web: [9003] } }));
    await d.waitFor((x) => x.versionOf(TYPE_URL.endpoint) === 'v2', 'EDS v2');
    await d.settle();
    expect(d.received.slice(before).map((r) => `${short(r.typeUrl)}@${r.version}`)).toEqual(['ClusterLoadAssignment@v2']);
  });

  it('a NACK is recorded and the rejected version is not re-sent in a loop', async () => {
    const d = driver((typeUrl) => (typeUrl === TYPE_URL.cluster && ads.cache.getSnapshot(GROUP)?.version === 'v2' ? 'cluster web: bad lb_policy' : undefined));
    await synced(d);
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, dns: {} }));
    await d.waitFor((x) => x.received.some((r) => r.answer === 'nack'), 'NACK');
    await new Promise((r) => setTimeout(r, 500));

    expect(d.responsesOf(TYPE_URL.cluster).map((r) => `${r.version}:${r.answer}`)).toEqual(['v1:ack', 'v2:nack']);
    expect(d.versionOf(TYPE_URL.cluster)).toBe('v1');
    const cds = ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.cluster);
    expect(cds).toMatchObject({ state: 'nacked', lastAckedVersion: 'v1', lastSentVersion: 'v2', lastNack: { code: 13, message: 'cluster web: bad lb_policy', rejectedVersion: 'v2' } });

    ads.cache.setSnapshot(GROUP, egressSnapshot('v3', { ...V1, dns: { stripe: 'api.stripe.com', github: 'api.github.com' } }));
    await d.waitFor((x) => x.versionOf(TYPE_URL.cluster) === 'v3', 'v3 accepted');
  });

  it('a NACKed resource is retried only after another type has moved on, never on its own', async () => {
    // Like Envoy's validate_clusters: a changed listener is rejected while a cluster it needs is unknown.
    const d: XdsSotwDriver = driver((typeUrl) =>
      typeUrl === TYPE_URL.listener && ads.cache.getSnapshot(GROUP)?.version !== 'v1' && !d.holds(TYPE_URL.cluster).has('late') ? 'unknown cluster late' : undefined,
    );
    await synced(d);

    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, listenerPort: 10001 }));
    await d.waitFor((x) => x.received.some((r) => r.answer === 'nack'), 'listener NACK');
    // A new snapshot changing only what comes after listeners (routes) does not re-send the rejected listener.
    ads.cache.setSnapshot(GROUP, egressSnapshot('v3', { ...V1, listenerPort: 10001, routeTo: 'web' }));
    await d.waitFor((x) => x.versionOf(TYPE_URL.route) === 'v3', 'RDS v3');
    await d.settle();
    expect(d.responsesOf(TYPE_URL.listener).map((r) => `${r.version}:${r.answer}`)).toEqual(['v1:ack', 'v2:nack']);

    // Once clusters moved on (the missing one arrived and was ACKed), the same listener gets one more try.
    ads.cache.setSnapshot(GROUP, egressSnapshot('v4', { ...V1, listenerPort: 10001, dns: { ...V1.dns, late: 'late.example' } }));
    await d.waitFor((x) => x.versionOf(TYPE_URL.listener) === 'v4', 'listener accepted');
    expect(d.responsesOf(TYPE_URL.listener).map((r) => `${r.version}:${r.answer}`)).toEqual(['v1:ack', 'v2:nack', 'v4:ack']);
  });

  it('clusters dropped by a new snapshot are kept until the routes have moved on (make before break)', async () => {
    const d = driver();
    await synced(d);
    const before = d.received.length;
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { eds: { web: [9002], payments: [9005] }, dns: V1.dns, routeTo: 'payments' }));
    await d.waitFor((x) => !x.holds(TYPE_URL.cluster).has('api') && x.holds(TYPE_URL.endpoint).has('payments'), 'swap done');
    await d.settle();
    expect(d.received.slice(before).map((r) => `${short(r.typeUrl)}:${[...r.names].sort().join(',')}`)).toEqual([
      'Cluster:api,payments,stripe,web',
      'ClusterLoadAssignment:payments,web',
      'RouteConfiguration:egress-routes',
      'Cluster:payments,stripe,web',
    ]);
  });

  it('a request carrying a stale nonce is ignored', async () => {
    const { stream, responses, until } = rawStream();
    stream.write({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
    await until(1);
    // An old nonce with a narrower subscription: ignored entirely, not even a subscription change.
    stream.write({ type_url: TYPE_URL.cluster, version_info: '', response_nonce: 'stale', resource_names: ['api'] });
    ads.cache.setSnapshot(GROUP, egressSnapshot('v2', { ...V1, dns: {} }));
    await new Promise((r) => setTimeout(r, 200));
    expect(responses).toHaveLength(1);
    // The ACK of the current nonce releases the pending push, still as a wildcard.
    stream.write({ type_url: TYPE_URL.cluster, version_info: 'v1', response_nonce: responses[0]?.nonce ?? '', resource_names: [] });
    await until(2);
    expect(responses[1]?.version_info).toBe('v2');
    expect(responses[1]?.resources).toHaveLength(2);
  });

  it('a malformed request ends the stream with INVALID_ARGUMENT', async () => {
    const client = new grpc.Client(ads.address, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
    const ended = streamStatus(stream);
    stream.write({ node: NODE, resource_names: [] });
    const status = await ended;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/type_url/);
    expect(ads.status.list()).toEqual([]);
    await synced(driver());
  });
});
