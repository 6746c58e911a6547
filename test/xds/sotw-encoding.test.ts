import { describe, expect, it } from 'vitest';
import type { DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { deltaResponseBytes, encodeDeltaResponse, encodeSotwResponse, SharedResponse, sotwResponseBytes } from '../../src/xds/server/encode.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { dnsCluster, edsCluster, routeConfig } from './fixtures/resources.js';

function methods() {
  const def = serviceDefinition(ADS_SERVICE);
  const sotw = def.StreamAggregatedResources;
  const delta = def.DeltaAggregatedResources;
  if (!sotw || !delta) throw new Error('missing method');
  return { sotw, delta };
}

describe('SotW response encoding', () => {
  it('a response written from pre-encoded resources decodes exactly like the generated serializer output', () => {
    const def = methods().sotw;
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

  it('a shared response body is the same bytes for every nonce as a fresh encoding, and is passed through as is', () => {
    const def = methods().sotw;
    const resources = [dnsCluster('a', 'a.example', 443), edsCluster('b'), dnsCluster('c'.repeat(300), 'c.example', 80)];
    const set = new Map(resources.map((r) => [r.name, r]));
    for (const nonce of ['1', '2', '1', '3', '4', '5', '6', '1']) {
      const shared = sotwResponseBytes('v9', TYPE_URL.cluster, set, nonce);
      const generic = def.responseSerialize({ version_info: 'v9', type_url: TYPE_URL.cluster, nonce, resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.body })) });
      // The first nonces' whole bodies are kept; later ones are the shared prefix plus the nonce, joined when written.
      expect(encodeSotwResponse(shared).equals(generic), `nonce ${nonce}`).toBe(true);
      if (Buffer.isBuffer(shared)) expect(encodeSotwResponse(shared)).toBe(shared);
    }
    expect(sotwResponseBytes('v9', TYPE_URL.cluster, set, '1')).toBe(sotwResponseBytes('v9', TYPE_URL.cluster, set, '1'));
  });
});

describe('delta response encoding', () => {
  it('a response written from pre-encoded resource entries is the generated serializer output', () => {
    const def = methods().delta;
    const resources = [dnsCluster('a', 'a.example', 443), edsCluster('b'), routeConfig('r'.repeat(200), 'a')];
    for (const removed of [[], ['gone'], ['x', 'y'.repeat(150)]]) {
      const fast = encodeDeltaResponse({ system_version_info: 'v3', type_url: TYPE_URL.cluster, nonce: '17', resources, removed_resources: removed });
      const generic = def.responseSerialize({
        system_version_info: 'v3',
        type_url: TYPE_URL.cluster,
        nonce: '17',
        resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.body } })),
        removed_resources: removed,
      });
      expect(fast.equals(generic), `removed ${removed.join(',')}`).toBe(true);
    }
  });

  it('responses shared per snapshot are the same bytes as a fresh encoding', () => {
    const def = methods().delta;
    const resources = [dnsCluster('a', 'a.example', 443), edsCluster('b')];
    const snapshot = Snapshot.from('v5', resources);
    const many = Array.from({ length: 40 }, (_, i) => dnsCluster(`m${i}`, 'm.example', 443));
    for (const [list, removed, nonce] of [
      [resources, [], '1'],
      [resources.slice(1), ['c'], '2'],
      [resources, [], '1'],
      [many, [], '3'],
    ] as const) {
      const bytes = deltaResponseBytes(snapshot, TYPE_URL.cluster, list, removed, nonce);
      const generic = def.responseSerialize({
        system_version_info: 'v5',
        type_url: TYPE_URL.cluster,
        nonce,
        resources: list.map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.body } })),
        removed_resources: removed,
      });
      expect(encodeDeltaResponse(bytes).equals(generic)).toBe(true);
    }
    expect(deltaResponseBytes(snapshot, TYPE_URL.cluster, resources, [], '1')).toBe(deltaResponseBytes(snapshot, TYPE_URL.cluster, resources, [], '1'));
  });

  it('a first sync (every resource of the type) is encoded once per snapshot; each stream adds only its nonce', () => {
    const def = methods().delta;
    const many = Array.from({ length: 40 }, (_, i) => dnsCluster(`m${i}`, 'm.example', 443));
    const snapshot = Snapshot.from('v6', many);
    const byStream = ['1', '2', '3'].map((nonce) => deltaResponseBytes(snapshot, TYPE_URL.cluster, many, [], nonce));
    byStream.forEach((response, i) => {
      const generic = def.responseSerialize({
        system_version_info: 'v6',
        type_url: TYPE_URL.cluster,
        nonce: String(i + 1),
        resources: many.map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.body } })),
        removed_resources: [],
      });
      expect(encodeDeltaResponse(response).equals(generic)).toBe(true);
      expect(response.length).toBe(generic.length);
    });
    const prefixes = byStream.map((r) => (r instanceof SharedResponse ? r.prefix : undefined));
    expect(prefixes[0]).toBeInstanceOf(Buffer);
    expect(prefixes[1]).toBe(prefixes[0]);
    expect(prefixes[2]).toBe(prefixes[0]);
    // Not the whole set (one left out, or in another order): encoded for the stream, same bytes as the generated serializer.
    const reordered = [...many].reverse();
    expect(Buffer.isBuffer(deltaResponseBytes(snapshot, TYPE_URL.cluster, reordered, [], '4'))).toBe(true);
  });
});
