import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/proto/strict/index.js';
import { SnapshotCache } from '../../src/xds/cache/cache.js';
import { POLICY_GROUP, PolicyPublisher } from '../../src/xds/publisher.js';
import { buildResources, planResources } from '../../src/xds/resources/build.js';
import { encodeOriginCluster, encodeTunnelCluster, originClusterResource, tunnelClusterResource } from '../../src/xds/resources/clusters.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { collectDestinations, destinationsOf, encodeRouteConfiguration, routeConfigurationJson, routePlan, type EncodedPart } from '../../src/xds/resources/routes.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { ProtoWriter } from '../../src/xds/wire.js';
import { compile, randomPolicy, rng } from './fixtures/random-policy.js';
import { destinationsOf as referenceDestinationsOf, referenceBuildResources } from './fixtures/reference-build.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTES = 'envoy.config.route.v3.RouteConfiguration';
const defaults = xdsOptionsSchema.parse({});

function policyOf(hosts: string[], extra = ''): string {
  return `version: 1\negress:\n  - identity: "*"\n    allow:\n${hosts.map((h, i) => `      - { id: r${i}, host: "${h}"${extra} }`).join('\n')}\n`;
}

/** Few hosts, many rules: several ports, schemes and CONNECT mixes per host (tunnel clusters shared, port routes). */
function crowdedPolicy(seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)] as T;
  const rules: string[] = [];
  const n = 1 + Math.floor(r() * 60);
  for (let i = 0; i < n; i++) {
    const parts = [`id: r${i}`, `host: "${pick(['a.example.com', 'b.example.com', '*.w.example.org', '10.1.1.1', '2001:db8::5'])}"`];
    if (r() < 0.5) parts.push(`scheme: ${pick(['http', 'https'])}`);
    if (r() < 0.7) parts.push(`port: ${pick([443, 8443, 80, 9000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, '"*"'])}`);
    if (r() < 0.5) parts.push(`methods: [${pick(['GET', 'CONNECT', 'GET, CONNECT'])}]`);
    if (r() < 0.2) parts.push(`paths: ["/x/**"]`);
    rules.push(`      - { ${parts.join(', ')} }`);
  }
  return `version: 1\negress:\n  - identity: "*"\n    allow:\n${rules.join('\n')}\n`;
}

describe('hand-written encoders (publish builds no JSON)', () => {
  it('plans are the resources of the reference builders (names, order, refs, JSON), and encode to their strict bytes', () => {
    let compared = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const opts = xdsOptionsSchema.parse({ accessLog: seed % 2 === 0, extProc: seed % 3 !== 0 });
      const policy = compile(seed % 2 === 0 ? crowdedPolicy(seed) : randomPolicy(seed));
      const reference = referenceBuildResources(policy, opts);
      const plans = planResources(policy, opts);
      expect(plans.map((p) => `${p.typeUrl} ${p.name}`), `seed ${seed}`).toEqual(reference.map((r) => `${r.typeUrl} ${r.name}`));
      expect(destinationsOf(policy)).toEqual(referenceDestinationsOf(policy));
      plans.forEach((plan, i) => {
        const ref = reference[i]!;
        expect(plan.typeName).toBe(ref.typeName);
        expect(plan.refs, `${plan.name} (seed ${seed})`).toEqual(ref.refs);
        expect(plan.json(), `${plan.name} (seed ${seed})`).toEqual(ref.json);
        expect(plan.encode().toString('hex'), `${plan.name} (seed ${seed})`).toBe(encodeMessage(ref.typeName, ref.json).toString('hex'));
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(2000);
  });

  it('every resource of 200 random policies encodes to exactly the bytes of the strict encoder on its JSON', () => {
    let compared = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const opts = xdsOptionsSchema.parse({ accessLog: seed % 2 === 0, extProc: seed % 3 !== 0, failureModeAllow: seed % 5 === 0, trustedCaFile: seed % 7 === 0 ? '/ca.pem' : undefined });
      const policy = compile(randomPolicy(seed));
      const plans = planResources(policy, opts);
      const built = buildResources(policy, opts);
      expect(plans.map((p) => p.name)).toEqual(built.map((r) => r.name));
      plans.forEach((plan, i) => {
        const json = built[i]!.json;
        expect(plan.json(), `${plan.name} (seed ${seed})`).toEqual(json);
        const fast = plan.encode();
        const strict = encodeMessage(plan.typeName, json);
        expect(fast.toString('hex'), `${plan.name} (seed ${seed})`).toBe(strict.toString('hex'));
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('a host with many ports and schemes (keyed lookups, shared tunnels) plans what the reference builds', () => {
    const rules: string[] = [];
    for (let i = 0; i < 40; i++) {
      const host = i % 3 === 0 ? 'many.example.com' : i % 3 === 1 ? '10.2.3.4' : '*.wild.example.net';
      const methods = i % 4 === 0 ? ', methods: [GET]' : i % 4 === 1 ? ', methods: [CONNECT]' : '';
      rules.push(`      - { id: m${i}, host: "${host}", port: ${2000 + (i % 13)}, scheme: ${i % 2 ? 'http' : 'https'}${methods} }`);
    }
    const policy = compile(`version: 1\negress:\n  - identity: "*"\n    allow:\n${rules.join('\n')}\n`);
    expect(Math.max(...[...collectDestinations(policy).byHost.values()].map((g) => g.length))).toBeGreaterThan(8);
    expect(destinationsOf(policy)).toEqual(referenceDestinationsOf(policy));
    const reference = referenceBuildResources(policy, defaults);
    const plans = planResources(policy, defaults);
    expect(plans.map((p) => p.name)).toEqual(reference.map((r) => r.name));
    plans.forEach((plan, i) => {
      expect(plan.refs).toEqual(reference[i]!.refs);
      expect(plan.encode().equals(encodeMessage(plan.typeName, reference[i]!.json)), plan.name).toBe(true);
    });
  });

  it('long names and hosts (multi-byte lengths), IP literals, IPv6 and plain http match the strict encoder', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example.com`;
    for (const [scheme, host, port] of [
      ['https', long, 443],
      ['http', long, 8080],
      ['https', '10.1.2.3', 65535],
      ['https', '2001:db8::1', 443],
      ['http', '192.168.0.1', 1],
    ] as const) {
      const origin = `out_${scheme}|${host}|${port}`;
      expect(encodeOriginCluster(origin, scheme, host, port, defaults).equals(encodeMessage(CLUSTER, originClusterResource(origin, scheme, host, port, defaults)))).toBe(true);
      const tunnel = `tunnel|${host}|${port}`;
      expect(encodeTunnelCluster(tunnel, host, port).equals(encodeMessage(CLUSTER, tunnelClusterResource(tunnel, host, port)))).toBe(true);
    }
    const policy = compile(`${policyOf([long, '*.wild.example.com', '10.0.0.1', '2001:db8::7'])}      - { id: p, host: "${long}", port: 8443, methods: [GET] }\n      - { id: q, host: "${long}", port: 80, scheme: http }\n`);
    const plan = routePlan(destinationsOf(policy));
    expect(encodeRouteConfiguration(plan).equals(encodeMessage(ROUTES, routeConfigurationJson(plan)))).toBe(true);
  });

  it('the route configuration reassembled from cached virtual hosts equals a fresh encoding and decodes to its JSON', () => {
    const hosts = Array.from({ length: 50 }, (_, i) => `svc-${i}.example.com`);
    const parts = new Map<string, EncodedPart>();
    let reencoded = 0;
    const cache = {
      get: (k: string) => parts.get(k),
      set: (k: string, part: EncodedPart) => {
        if (parts.get(k) !== part) reencoded++;
        parts.set(k, part);
      },
    };
    const a = routePlan(destinationsOf(compile(policyOf(hosts))));
    encodeRouteConfiguration(a, cache);
    expect(parts.size).toBe(51);
    // One host added, one changed (GET only: no CONNECT route), the rest from the cache.
    const changed = [...hosts.slice(0, 10), ...hosts.slice(11), 'new.example.com'];
    const b = routePlan(destinationsOf(compile(`${policyOf(changed)}      - { id: x, host: "${hosts[10]}", methods: [GET] }\n`)));
    reencoded = 0;
    const reassembled = encodeRouteConfiguration(b, cache);
    expect(reencoded).toBe(2);
    const json = routeConfigurationJson(b);
    expect(reassembled.equals(encodeMessage(ROUTES, json))).toBe(true);
    expect(reassembled.equals(encodeRouteConfiguration(b))).toBe(true);
    expect(decodeMessage(ROUTES, reassembled)).toEqual(decodeMessage(ROUTES, encodeMessage(ROUTES, json)));
    expect((decodeMessage(ROUTES, reassembled) as { virtual_hosts: unknown[] }).virtual_hosts).toHaveLength(52);
  });

  it('the publisher re-encodes only what a one-destination change touched, with the strict encoder bytes', () => {
    const cache = new SnapshotCache();
    const publisher = new PolicyPublisher(cache, defaults);
    const hosts = Array.from({ length: 20 }, (_, i) => `svc-${i}.example.com`);
    const version = (n: number, text: string) => ({ ...compileVersion(text), version: n });
    // 43 resources, plus the VHDS view's own 21 (its route configuration and a VirtualHost per host).
    expect(publisher.publish(version(1, policyOf(hosts)))).toMatchObject({ ok: true, resources: 43, encoded: 64 });
    const added = publisher.publish(version(2, policyOf([...hosts, 'one-more.example.com'])));
    // Two clusters, the route configuration and the new host's VirtualHost.
    expect(added).toMatchObject({ ok: true, encoded: 4 });
    const removed = publisher.publish(version(3, policyOf(hosts)));
    expect(removed).toMatchObject({ ok: true, encoded: 1 });
    const same = publisher.publish(version(4, policyOf(hosts)));
    expect(same).toMatchObject({ ok: true, encoded: 0 });
    const snapshot = cache.getSnapshot(POLICY_GROUP)!;
    for (const r of referenceBuildResources(compile(policyOf(hosts)), defaults)) {
      expect(snapshot.get(r.typeUrl, r.name)?.body.equals(encodeMessage(r.typeName, r.json)), r.name).toBe(true);
    }
    expect(snapshot.resources(TYPE_URL.cluster).size).toBe(41);
  });

  it('ProtoWriter writes lengths across varint boundaries as protobufjs does', () => {
    for (const n of [0, 1, 127, 128, 129, 16383, 16384, 16385, 2_097_152]) {
      const text = 'x'.repeat(n);
      const w = new ProtoWriter(16);
      const outer = w.begin(3);
      w.string(1, text).uint32(2, n);
      const inner = w.begin(4);
      w.string(1, `é${text}`);
      w.end(inner).end(outer);
      const p = protobuf.Writer.create();
      p.uint32((3 << 3) | 2).fork();
      p.uint32((1 << 3) | 2).string(text).uint32(2 << 3).uint32(n);
      p.uint32((4 << 3) | 2).fork().uint32((1 << 3) | 2).string(`é${text}`).ldelim();
      p.ldelim();
      expect(w.finish().equals(Buffer.from(p.finish())), `n=${n}`).toBe(true);
    }
  });
});

function compileVersion(text: string) {
  return { policy: compile(text), etag: '"x"', loadedAt: new Date(0).toISOString() } as unknown as Parameters<PolicyPublisher['publish']>[0];
}
