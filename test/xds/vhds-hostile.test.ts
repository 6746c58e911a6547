import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/xds/types.js';
import { XdsDeltaDriver } from '../drivers/xds-delta-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HOSTS = 3_000;
const BOGUS = 60_000;
const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i}.example`);
const policyWith = (list: string[]) =>
  `version: 1\negress:\n  - identity: "*"\n    allow:\n${list.map((h, i) => `      - { id: r${i}, host: "${h}" }`).join('\n')}\n`;
const ENVOY = { cluster: 'egress-gateway', locality: {}, user_agent_name: 'envoy', user_agent_version: '1.34.0' };

/**
 * A delta client may name any number of VHDS namespaces in one request (one gRPC message, up to 4 MB). Answering
 * them must cost about one pass over the names, not one pass over every virtual host per name: at 3,000 destinations
 * 60,000 bogus namespaces were 180 million name splits on the event loop, and every other gateway waited for them.
 */
describe('VHDS: a client naming many namespaces does not hold the other gateways', () => {
  let server: TestServer;
  let good: XdsDeltaDriver;
  let hostile: XdsDeltaDriver;

  beforeAll(async () => {
    server = await startTestServer(policyWith(hosts));
    good = new XdsDeltaDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { ...ENVOY, id: 'good' } });
    hostile = new XdsDeltaDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { ...ENVOY, id: 'hostile' } });
    good.connect();
    hostile.connect();
    await good.waitFor((d) => d.holds(TYPE_URL.virtualHost).size === HOSTS, 'good initial sync', 20_000);
    await hostile.waitFor((d) => d.holds(TYPE_URL.virtualHost).size === HOSTS, 'hostile initial sync', 20_000);
  }, 60_000);
  afterAll(async () => {
    good?.close();
    hostile?.close();
    await server?.stop();
  });

  it('60,000 empty namespaces are answered as removed, unsubscribing them keeps what the client holds, and a PUT still reaches the other gateway', async () => {
    const bogus = Array.from({ length: BOGUS }, (_, i) => `ns${i}`);
    const from = hostile.received.length;
    hostile.subscribe(TYPE_URL.virtualHost, bogus);
    hostile.unsubscribe(TYPE_URL.virtualHost, bogus);
    hostile.subscribe(TYPE_URL.virtualHost, bogus);
    hostile.unsubscribe(TYPE_URL.virtualHost, bogus);
    const put = await server.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyWith([...hosts, 'new.example']) });
    expect(put.status).toBe(200);
    await good.waitFor((d) => d.holds(TYPE_URL.virtualHost).has('egress_http/new.example'), 'the new virtual host at the good gateway');
    await hostile.waitFor((d) => d.holds(TYPE_URL.virtualHost).has('egress_http/new.example'), 'the new virtual host at the hostile client');
    const removed = new Set(hostile.received.slice(from).flatMap((r) => (r.typeUrl === TYPE_URL.virtualHost ? r.removed : [])));
    expect(removed.has('ns0') && removed.has(`ns${BOGUS - 1}`)).toBe(true);
    expect(hostile.holds(TYPE_URL.virtualHost).size).toBe(HOSTS + 1);
  });
});
