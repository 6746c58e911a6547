import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/proto/strict/encode.js';
import { buildResources, planResources } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { checkEnvoySemantics } from '../../src/xds/semantics/index.js';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { TYPE_URL, makeResource } from '../../src/xds/types.js';
import { EnvoyGateway } from '../drivers/envoy-gateway.js';
import { XdsDeltaDriver } from '../drivers/xds-delta-driver.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { compile, randomPolicy } from './fixtures/random-policy.js';

const policyWith = (hosts: string[], extra = '') =>
  `version: 1\negress:\n  - identity: "*"\n    allow:\n${hosts.map((h, i) => `      - { id: r${i}, host: "${h}" }`).join('\n')}\n${extra}`;
const ANY_PORT = '      - { id: any, host: ports.example.com, port: "*" }\n';
const ENVOY = { cluster: 'egress-gateway', locality: {}, user_agent_name: 'envoy', user_agent_version: '1.34.0' };

describe('VHDS resources', () => {
  it('VHDS plans encode to the strict bytes of their JSON, and the VHDS set passes the semantics check, over 200 random policies', () => {
    let virtualHosts = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const opts = xdsOptionsSchema.parse({ accessLog: seed % 2 === 0 });
      const policy = compile(randomPolicy(seed));
      for (const plan of planResources(policy, opts, true).filter((p) => p.audience === 'vhds')) {
        expect(plan.encode().toString('hex'), `${plan.name} (seed ${seed})`).toBe(encodeMessage(plan.typeName, plan.json()).toString('hex'));
        if (plan.typeUrl === TYPE_URL.virtualHost) virtualHosts++;
      }
      expect(checkEnvoySemantics(buildResources(policy, opts, 'vhds')), `seed ${seed}`).toEqual([]);
    }
    expect(virtualHosts).toBeGreaterThan(200);
  });

  it('the VHDS route configuration keeps only the catch-all, and each destination host is one VirtualHost named <route config>/<host>', () => {
    const rs = buildResources(compile(policyWith(['api.one.example', '*.cdn.example'], ANY_PORT)), xdsOptionsSchema.parse({}), 'vhds');
    const rc = rs.find((r) => r.typeUrl === TYPE_URL.route)!;
    expect(rc.json.vhds).toEqual({ config_source: { ads: {}, resource_api_version: 'V3' } });
    expect((rc.json.virtual_hosts as Array<{ domains: string[] }>).map((v) => v.domains)).toEqual([['*']]);
    const vhs = rs.filter((r) => r.typeUrl === TYPE_URL.virtualHost);
    expect(vhs.map((v) => [v.name, v.json.name])).toEqual([
      ['egress_http/api.one.example', 'egress_http/api.one.example'],
      ['egress_http/*.cdn.example', 'egress_http/*.cdn.example'],
    ]);
  });
});

describe('the VHDS view of a snapshot', () => {
  it('shares the other types, and a VirtualHost naming a missing cluster makes the snapshot inconsistent (last good one keeps serving)', () => {
    const cluster = makeResource(TYPE_URL.cluster, 'out_https|a.example|443', Buffer.from('c'));
    const route = makeResource(TYPE_URL.route, 'egress_http', Buffer.from('r'));
    const vhdsRoute = makeResource(TYPE_URL.route, 'egress_http', Buffer.from('v'));
    const listener = makeResource(TYPE_URL.listener, 'egress_http', Buffer.from('l'), { routes: ['egress_http'] });
    const good = makeResource(TYPE_URL.virtualHost, 'egress_http/a.example', Buffer.from('a'), { clusters: ['out_https|a.example|443'] });
    const ok = Snapshot.from('1', [cluster, route, listener]).withVhds([vhdsRoute, good]);
    expect(ok.consistent()).toEqual([]);
    expect(ok.vhds!.resources(TYPE_URL.cluster)).toBe(ok.resources(TYPE_URL.cluster));
    expect(ok.viewFor(true).get(TYPE_URL.route, 'egress_http')).toBe(vhdsRoute);
    expect(ok.viewFor(false).get(TYPE_URL.route, 'egress_http')).toBe(route);
    const bad = makeResource(TYPE_URL.virtualHost, 'egress_http/b.example', Buffer.from('b'), { clusters: ['out_https|b.example|443'] });
    const broken = Snapshot.from('2', [cluster, route, listener]).withVhds([vhdsRoute, good, bad]);
    expect(broken.consistent()).toEqual(['in the VHDS view: virtual host "egress_http/b.example" names cluster "out_https|b.example|443", which is not in the snapshot']);
  });
});

describe('VHDS over delta ADS: one destination change is one small update', () => {
  let server: TestServer;
  let delta: XdsDeltaDriver;
  let sotw: XdsSotwDriver;

  beforeAll(async () => {
    server = await startTestServer(policyWith(['api.one.example', 'api.two.example'], ANY_PORT));
    delta = new XdsDeltaDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { ...ENVOY, id: 'vhds-1' } });
    sotw = new XdsSotwDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { ...ENVOY, id: 'vhds-sotw' } });
    delta.connect();
    sotw.connect();
    await delta.waitFor((d) => d.holds(TYPE_URL.virtualHost).size === 2, 'delta initial sync with VHDS');
    await sotw.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'sotw initial sync');
  });
  afterAll(async () => {
    delta?.close();
    sotw?.close();
    await server?.stop();
  });

  const put = (body: string) => server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body });

  it('an Envoy on delta subscribes to its route configuration as a VHDS namespace and gets every virtual host without asking for each', () => {
    const vhdsRequests = delta.sent.filter((r) => r.type_url === TYPE_URL.virtualHost);
    expect(vhdsRequests[0]?.resource_names_subscribe).toEqual(['egress_http']);
    expect([...delta.holds(TYPE_URL.virtualHost).keys()].sort()).toEqual(['egress_http/api.one.example', 'egress_http/api.two.example']);
  });

  it('requests through the delta gateway route like through the SotW one: allowed host to its cluster, others 403 in Envoy, any-port host to the forward proxy', async () => {
    for (const viaDelta of [true, false]) {
      const gw = await EnvoyGateway.fromAds({ tollgatePort: server.grpcPort, delta: viaDelta, nodeId: viaDelta ? 'gw-vhds' : 'gw-sotw', timeoutSlackMs: 10_000 });
      try {
        const ok = await gw.send({ method: 'GET', authority: 'api.one.example', path: '/x' });
        expect(ok.kind === 'upstream' && ok.cluster, `delta=${viaDelta}`).toBe('out_https|api.one.example|443');
        const denied = await gw.send({ method: 'GET', authority: 'evil.example', path: '/x' });
        expect(denied.kind === 'local_reply' && denied.status, `delta=${viaDelta}`).toBe(403);
        const anyPort = await gw.send({ method: 'GET', authority: 'ports.example.com:8443', path: '/x' });
        expect(anyPort.kind === 'upstream' && anyPort.cluster, `delta=${viaDelta}`).toBe('egress_dfp_tls');
      } finally {
        gw.close();
      }
    }
  });

  it('adding one destination sends the delta Envoy its clusters and one VirtualHost, not the route configuration; SotW still gets the whole table', async () => {
    const from = delta.received.length;
    const sotwFrom = sotw.received.length;
    expect((await put(policyWith(['api.one.example', 'api.two.example', 'api.three.example'], ANY_PORT))).status).toBe(200);
    await delta.waitFor((d) => d.holds(TYPE_URL.virtualHost).has('egress_http/api.three.example'), 'the new virtual host');
    await delta.settle();
    const sent = delta.received.slice(from).flatMap((r) => r.resources.map((x) => `${r.typeUrl.split('.').pop()} ${x.name}`));
    expect(sent.sort()).toEqual(['Cluster out_https|api.three.example|443', 'Cluster tunnel|api.three.example|443', 'VirtualHost egress_http/api.three.example']);
    await sotw.waitFor((d) => d.received.slice(sotwFrom).some((r) => r.typeUrl === TYPE_URL.route), 'sotw route update');
    // And the delta gateway built from what it holds now routes the new host.
    const gw = EnvoyGateway.fromDeltaDriver(delta, { tollgatePort: server.grpcPort, timeoutSlackMs: 10_000 });
    try {
      const r = await gw.send({ method: 'GET', authority: 'api.three.example', path: '/x' });
      expect(r.kind === 'upstream' && r.cluster).toBe('out_https|api.three.example|443');
    } finally {
      gw.close();
    }
  });

  it('removing a destination removes its VirtualHost by name (the name Envoy keys its VHDS map by), then its clusters', async () => {
    const from = delta.received.length;
    await put(policyWith(['api.one.example', 'api.three.example'], ANY_PORT));
    await delta.waitFor((d) => !d.holds(TYPE_URL.cluster).has('out_https|api.two.example|443'), 'cluster removal');
    const after = delta.received.slice(from);
    const vhRemoval = after.findIndex((r) => r.typeUrl === TYPE_URL.virtualHost && r.removed.includes('egress_http/api.two.example'));
    const clusterRemoval = after.findIndex((r) => r.typeUrl === TYPE_URL.cluster && r.removed.includes('out_https|api.two.example|443'));
    expect(vhRemoval).toBeGreaterThanOrEqual(0);
    expect(clusterRemoval).toBeGreaterThan(vhRemoval);
    const gw = EnvoyGateway.fromDeltaDriver(delta, { tollgatePort: server.grpcPort, timeoutSlackMs: 10_000 });
    try {
      const r = await gw.send({ method: 'GET', authority: 'api.two.example', path: '/x' });
      expect(r.kind === 'local_reply' && r.status).toBe(403);
    } finally {
      gw.close();
    }
  });

  it('a reconnecting Envoy gets every virtual host again (it keeps no versions of namespace resources)', async () => {
    const from = delta.received.length;
    delta.disconnect();
    delta.connect();
    await delta.waitFor((d) => d.received.slice(from).some((r) => r.typeUrl === TYPE_URL.virtualHost), 'VHDS after reconnect');
    const vh = delta.received.slice(from).filter((r) => r.typeUrl === TYPE_URL.virtualHost).flatMap((r) => r.resources.map((x) => x.name));
    expect(vh.sort()).toEqual(['egress_http/api.one.example', 'egress_http/api.three.example']);
  });

  it('with no destination virtual host the namespace is answered with its name removed, so Envoy does not wait for VHDS', async () => {
    const only = await startTestServer(`version: 1\negress:\n  - identity: "*"\n    allow:\n${ANY_PORT}`);
    const d = new XdsDeltaDriver({ address: `127.0.0.1:${only.grpcPort}`, node: { ...ENVOY, id: 'vhds-empty' } });
    try {
      d.connect();
      await d.waitFor((x) => x.responsesOf(TYPE_URL.virtualHost).length > 0, 'the first VHDS answer');
      expect(d.responsesOf(TYPE_URL.virtualHost)[0]).toMatchObject({ resources: [], removed: ['egress_http'], answer: 'ack' });
    } finally {
      d.close();
      await only.stop();
    }
  });

  it('a delta client that is not Envoy gets the whole route configuration (VHDS is Envoy-only)', async () => {
    const d = new XdsDeltaDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { id: 'grpc-client', user_agent_name: 'grpc-node-js' } });
    try {
      d.connect();
      await d.waitFor((x) => x.holds(TYPE_URL.route).has('egress_http'), 'route configuration');
      await d.settle();
      expect(d.holds(TYPE_URL.virtualHost).size).toBe(0);
      const gw = EnvoyGateway.fromDeltaDriver(d, { tollgatePort: server.grpcPort });
      try {
        expect(gw.routes.vhds).toBeUndefined();
        expect((gw.routes.virtual_hosts as unknown[]).length).toBe(3);
      } finally {
        gw.close();
      }
    } finally {
      d.close();
    }
  });
});
