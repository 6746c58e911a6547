import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/xds/types.js';
import { XdsDeltaDriver } from '../drivers/xds-delta-driver.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const policyWith = (hosts: string[]) =>
  `version: 1\negress:\n  - identity: "*"\n    allow:\n${hosts.map((h, i) => `      - { id: r${i}, host: ${h} }`).join('\n')}\n`;
const NODE = { id: 'gw-1', cluster: 'egress-gateway', locality: {}, user_agent_name: 'envoy', user_agent_version: '1.34.0' };

let server: TestServer;
let delta: XdsDeltaDriver;
let sotw: XdsSotwDriver;

beforeAll(async () => {
  server = await startTestServer(policyWith(['api.one.example', 'api.two.example']));
  delta = new XdsDeltaDriver({ address: `127.0.0.1:${server.grpcPort}`, node: NODE });
  sotw = new XdsSotwDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { ...NODE, id: 'gw-2' } });
  delta.connect();
  sotw.connect();
  await delta.waitFor((d) => d.holds(TYPE_URL.virtualHost).size === 2, 'delta initial sync (VHDS)');
  await sotw.waitFor((d) => d.holds(TYPE_URL.route).has('egress_http'), 'sotw initial sync');
});
afterAll(async () => {
  delta.close();
  sotw.close();
  await server.stop();
});

describe('policy → xDS → Envoy', () => {
  it('a gateway receives the Tollgate cluster, one TLS cluster per destination, the routes and the egress listener', () => {
    expect([...delta.holds(TYPE_URL.cluster).keys()].sort()).toEqual(['out_https|api.one.example|443', 'out_https|api.two.example|443', 'tollgate', 'tunnel|api.one.example|443', 'tunnel|api.two.example|443']);
    expect([...delta.holds(TYPE_URL.listener).keys()]).toEqual(['egress_http']);
  });

  it('a PUT /v1/policy reaches both SotW and delta gateways, and delta sends only the changed resources', async () => {
    const from = delta.received.length;
    const put = await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyWith(['api.one.example', 'api.two.example', 'api.three.example']) });
    expect(put.status).toBe(200);
    const { version } = await put.json();
    // An Envoy on delta takes its virtual hosts over VHDS: the new host is one VirtualHost, the route configuration is not resent.
    await delta.waitFor((d) => d.holds(TYPE_URL.cluster).has('out_https|api.three.example|443') && d.holds(TYPE_URL.virtualHost).has('egress_http/api.three.example'), 'delta update');
    await sotw.waitFor((d) => d.holds(TYPE_URL.cluster).has('out_https|api.three.example|443'), 'sotw update');
    const sentNames = delta.received.slice(from).flatMap((r) => r.resources.map((x) => x.name));
    expect(sentNames.sort()).toEqual(['egress_http/api.three.example', 'out_https|api.three.example|443', 'tunnel|api.three.example|443']);
    await delta.settle();
    const nodes = (await (await server.admin('/v1/xds/nodes')).json()) as { snapshot_version: string; nodes: Array<{ nodeId: string; kind: string; types: Array<{ typeUrl: string; lastAckedVersion?: string }> }> };
    expect(nodes.snapshot_version).toBe(String(version));
    const gw1 = nodes.nodes.find((n) => n.nodeId === 'gw-1')!;
    expect(gw1.kind).toBe('delta');
    expect(gw1.types.find((t) => t.typeUrl === TYPE_URL.cluster)?.lastAckedVersion).toBe(String(version));
  });

  it('a removed destination disappears from the gateway (delta removed_resources)', async () => {
    await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyWith(['api.one.example']) });
    await delta.waitFor((d) => !d.holds(TYPE_URL.cluster).has('out_https|api.two.example|443'), 'removal');
    expect(delta.received.some((r) => r.removed.includes('out_https|api.two.example|443'))).toBe(true);
  });

  it('a NACK from a gateway is recorded in /v1/xds/nodes with its error', async () => {
    delta.reject = (typeUrl, resources) => (typeUrl === TYPE_URL.cluster && resources.some((r) => r.name.includes('four')) ? 'cluster out_https|api.four.example|443: certificate file missing' : undefined);
    await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyWith(['api.one.example', 'api.four.example']) });
    await delta.waitFor((d) => d.received.some((r) => r.answer === 'nack'), 'nack sent');
    type Nodes = { nodes: Array<{ nodeId: string; types: Array<{ typeUrl: string; state: string; lastNack?: { message: string } }> }> };
    let cds: Nodes['nodes'][number]['types'][number] | undefined;
    for (let i = 0; i < 100 && !cds?.lastNack; i++) {
      const nodes = (await (await server.admin('/v1/xds/nodes')).json()) as Nodes;
      cds = nodes.nodes.find((n) => n.nodeId === 'gw-1')?.types.find((t) => t.typeUrl === TYPE_URL.cluster);
      if (!cds?.lastNack) await new Promise((r) => setTimeout(r, 20));
    }
    expect(cds?.state).toBe('nacked');
    expect(cds?.lastNack?.message).toContain('certificate file missing');
  });
});
