import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/config/limits.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { openAdsStream, streamStatus } from '../drivers/ads-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('version: 1\n');
});
afterAll(() => server.stop());

describe('ADS limits', () => {
  it(`one node id may hold ${LIMITS.adsStreamsPerNode} ADS streams; the next is refused RESOURCE_EXHAUSTED and counted`, async () => {
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const open = () => {
      const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
      const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.on('error', () => undefined);
      stream.write({ node: { id: 'greedy-gw', cluster: 'egress' }, type_url: TYPE_URL.cluster, resource_names: [] } as DiscoveryRequest);
      return { stream, first, status: streamStatus(stream) };
    };
    const held = Array.from({ length: LIMITS.adsStreamsPerNode }, open);
    await Promise.all(held.map((h) => h.first));
    const extra = open();
    expect((await extra.status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Another node is not affected by this one's streams.
    const other = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
    other.on('error', () => undefined);
    const answered = new Promise<void>((resolve) => other.once('data', () => resolve()));
    other.write({ node: { id: 'other-gw', cluster: 'egress' }, type_url: TYPE_URL.cluster, resource_names: [] } as DiscoveryRequest);
    await answered;
    expect(await (await server.admin('/metrics')).text()).toMatch(/tollgate_limit_rejections_total\{limit="adsStreamsPerNode"\} 1/);
    for (const h of [...held, { stream: other }]) h.stream.cancel();
    client.close();
  });

  it(`one ADS stream may subscribe to ${LIMITS.adsTypesPerStream} resource types; naming one more ends it RESOURCE_EXHAUSTED and is counted`, async () => {
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    const status = streamStatus(stream);
    const node = { id: 'many-types-gw', cluster: 'egress' };
    for (let i = 0; i <= LIMITS.adsTypesPerStream; i++) stream.write({ node, type_url: `type.googleapis.com/made.up.Type${i}`, resource_names: [] } as DiscoveryRequest);
    const end = await status;
    expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(end.details).toMatch(/adsTypesPerStream/);
    expect(await (await server.admin('/metrics')).text()).toMatch(/tollgate_limit_rejections_total\{limit="adsTypesPerStream"\} 1/);
    client.close();
  });

  it(`the gRPC port tells every HTTP/2 client it may open at most ${LIMITS.grpcStreamsPerConnection} concurrent streams per connection`, async () => {
    const session = connect(`http://127.0.0.1:${server.grpcPort}`);
    session.on('error', () => undefined);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) => session.once('remoteSettings', resolve));
    session.close();
    expect(settings.maxConcurrentStreams).toBe(LIMITS.grpcStreamsPerConnection);
  });
});
