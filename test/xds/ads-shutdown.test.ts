import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { openAdsStream, streamStatus } from '../drivers/ads-client.js';
import { startTestServer } from '../support/server.js';

describe('ADS on shutdown', () => {
  it('open ADS streams end with UNAVAILABLE and a reason, so each Envoy reconnects at once instead of waiting for a cut', async () => {
    const server = await startTestServer('version: 1\n');
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(client, 'StreamAggregatedResources');
    stream.on('error', () => undefined);
    const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    const status = streamStatus(stream);
    stream.write({ node: { id: 'gw-1', cluster: 'egress' }, type_url: TYPE_URL.cluster, resource_names: [] } as DiscoveryRequest);
    await first;
    await server.stop();
    const ended = await status;
    client.close();
    expect(ended.code).toBe(grpc.status.UNAVAILABLE);
    expect(ended.details).toContain('shutting down');
  });
});
