import { describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/xds/cache/cache.js';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { bodyVersion, makeResource, TYPE_URL } from '../../src/xds/types.js';
import { egressResources, egressSnapshot } from './fixtures/egress-snapshot.js';
import { apiListener, dnsCluster, edsCluster, routeConfig } from './fixtures/resources.js';

const V1 = { eds: { api: [9001] }, dns: { stripe: 'api.stripe.com' }, routeTo: 'api' };

describe('snapshot consistency', () => {
  it('a complete snapshot is consistent, and a DNS cluster needs no load assignment', () => {
    expect(egressSnapshot('v1', { ...V1, routeTo: 'stripe' }).consistent()).toEqual([]);
  });

  it('names every dangling reference: listener → route, route → cluster, cluster → load assignment', () => {
    const snap = Snapshot.from('v1', [apiListener('l', 'missing-routes'), routeConfig('r', 'missing-cluster'), edsCluster('eds-only'), dnsCluster('dns', 'example.com', 443)]);
    expect(snap.consistent().sort()).toEqual([
      'cluster "eds-only" names cluster load assignment "eds-only", which is not in the snapshot',
      'listener "l" names route configuration "missing-routes", which is not in the snapshot',
      'route configuration "r" names cluster "missing-cluster", which is not in the snapshot',
    ]);
  });

  it('reports duplicate and empty names instead of throwing', () => {
    const a = dnsCluster('same', 'a.example', 443);
    const b = dnsCluster('same', 'b.example', 443);
    const nameless = makeResource(TYPE_URL.cluster, '', Buffer.from([]));
    expect(Snapshot.from('v1', [a, b, nameless]).consistent()).toEqual(['two resources of type cluster are named "same"', 'a cluster has an empty name']);
  });

  it('resource versions are SHA-256 prefixes of the encoded body', () => {
    const r = dnsCluster('x', 'x.example', 443);
    expect(r.version).toMatch(/^[0-9a-f]{16}$/);
    expect(r.version).toBe(bodyVersion(r.body));
    expect(dnsCluster('x', 'y.example', 443).version).not.toBe(r.version);
  });

  it('lists what changed between two snapshots once for every stream', () => {
    const v1 = egressSnapshot('v1', V1);
    const v2 = egressSnapshot('v2', { eds: { api: [9002] }, dns: { github: 'api.github.com' }, routeTo: 'api' });
    expect(v2.changedSince(TYPE_URL.cluster, v1).sort()).toEqual(['github', 'stripe']);
    expect(v2.changedSince(TYPE_URL.endpoint, v1)).toEqual(['api']);
    expect(v2.changedSince(TYPE_URL.cluster, v1)).toBe(v2.changedSince(TYPE_URL.cluster, v1));
  });
});

describe('snapshot cache', () => {
  it('groups nodes by cluster, or by id when the node has no cluster', () => {
    const cache = new SnapshotCache();
    expect(cache.groupOf({ id: 'envoy-1', cluster: 'egress' })).toBe('egress');
    expect(cache.groupOf({ id: 'envoy-1' })).toBe('envoy-1');
    expect(new SnapshotCache({ groupOf: () => 'all' }).groupOf({ id: 'x' })).toBe('all');
  });

  it('refuses an inconsistent snapshot with its reasons, keeps the last good one and notifies no one', () => {
    const cache = new SnapshotCache();
    const seen: string[] = [];
    const stop = cache.watch('g', (s) => seen.push(s.version));
    expect(cache.setSnapshot('g', egressSnapshot('v1', V1))).toEqual({ ok: true, group: 'g', version: 'v1' });

    const broken = Snapshot.from('v2', egressResources(V1).filter((r) => r.typeUrl !== TYPE_URL.route));
    const refused = cache.setSnapshot('g', broken);
    expect(refused).toEqual({
      ok: false,
      group: 'g',
      version: 'v2',
      serving: 'v1',
      reasons: ['listener "egress" names route configuration "egress-routes", which is not in the snapshot'],
    });
    expect(cache.getSnapshot('g')?.version).toBe('v1');
    expect(cache.lastRefusal('g')?.reasons).toHaveLength(1);

    cache.setSnapshot('g', egressSnapshot('v3', V1));
    expect(cache.lastRefusal('g')).toBeUndefined();
    stop();
    cache.setSnapshot('g', egressSnapshot('v4', V1));
    expect(seen).toEqual(['v1', 'v3']);
    expect(cache.watcherCount('g')).toBe(0);
  });
});
