import { describe, expect, it } from 'vitest';
import type { DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { encodeSotwResponse } from '../../src/xds/server/encode.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { dnsCluster, edsCluster } from './fixtures/resources.js';

describe('SotW response encoding', () => {
  it('a response written from pre-encoded resources decodes exactly like the generated serializer output', () => {
    const def = serviceDefinition(ADS_SERVICE).StreamAggregatedResources;
    if (!def) throw new Error('missing method');
    const resources = [dnsCluster('a', 'a.example', 443), edsCluster('b')];
    const fast = encodeSotwResponse({ version_info: 'v7', type_url: TYPE_URL.cluster, nonce: '42', resources });
    const generic = def.responseSerialize({
      version_info: 'v7',
      type_url: TYPE_URL.cluster,
      nonce: '42',
      resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.body })),
    });
    expect(Buffer.compare(fast, generic)).toBe(0);
    const decoded = def.responseDeserialize(fast) as DiscoveryResponse;
    expect(decoded.resources?.map((a) => Buffer.from(a.value ?? []).equals(resources[decoded.resources?.indexOf(a) ?? 0]?.body ?? Buffer.alloc(0)))).toEqual([true, true]);
  });
});
