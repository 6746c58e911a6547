import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot } from '../../src/xds/cache/snapshot.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { startAds, type RunningAds } from './fixtures/ads-server.js';
import { apiListener, edsCluster, loadAssignment, routeConfig, staticCluster } from './fixtures/resources.js';

const require = createRequire(import.meta.url);
(require('@grpc/grpc-js-xds') as { register(): void }).register();

const TARGET = 'echo.test:50051';
const NODE_ID = 'proxyless-test-node';
const WHO = '/tollgate.test.Echo/Who';
const identity = (b: Buffer): Buffer => b;

interface Backend {
  name: string;
  port: number;
  server: grpc.Server;
}

/** A real gRPC backend answering Who() with its own name. */
async function startBackend(name: string): Promise<Backend> {
  const server = new grpc.Server();
  server.addService(
    {
      Who: {
        path: WHO,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { name, port, server };
}

/** The proxyless-gRPC shape: api_listener → RDS → EDS cluster → load assignment. */
function proxylessSnapshot(version: string, backendPort: number, cluster = edsCluster('echo-backend')): Snapshot {
  return Snapshot.from(version, [
    apiListener(TARGET, 'echo-routes'),
    routeConfig('echo-routes', 'echo-backend'),
    cluster,
    loadAssignment('echo-backend', [{ host: '127.0.0.1', port: backendPort }]),
  ]);
}

function who(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(WHO, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 3000 }, (err, res) =>
      err ? reject(err) : resolve(res?.toString() ?? ''),
    ),
  );
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

let ads: RunningAds;
let a: Backend;
let b: Backend;
let client: grpc.Client;

beforeAll(async () => {
  ads = await startAds();
  a = await startBackend('backend-a');
  b = await startBackend('backend-b');
  const bootstrap = {
    xds_servers: [{ server_uri: ads.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: NODE_ID, locality: {} },
  };
  client = new grpc.Client(`xds:///${TARGET}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
});

afterAll(async () => {
  client?.close();
  a?.server.forceShutdown();
  b?.server.forceShutdown();
  await ads?.close();
});

describe('a real xDS client (@grpc/grpc-js-xds, SotW)', () => {
  it('routes a real call through the served listener, route, cluster and endpoints', async () => {
    // The node group defaults to node.id when the node has no cluster.
    expect(ads.cache.setSnapshot(NODE_ID, proxylessSnapshot('v1', a.port))).toMatchObject({ ok: true });
    const started = performance.now();
    expect(await until('first call', () => who(client))).toBe('backend-a');
    console.log(`grpc-js-xds: first call through xDS config answered ${(performance.now() - started).toFixed(0)} ms after channel start`);

    const [node] = ads.status.list();
    expect(node).toMatchObject({ nodeId: NODE_ID, kind: 'sotw', group: NODE_ID, snapshotVersion: 'v1' });
    expect(node?.userAgent.name).toMatch(/gRPC/i);
    const acked = new Map(node?.types.map((t) => [t.typeUrl, t.lastAckedVersion]));
    expect(acked.get(TYPE_URL.listener)).toBe('v1');
    expect(acked.get(TYPE_URL.route)).toBe('v1');
    expect(acked.get(TYPE_URL.cluster)).toBe('v1');
    expect(acked.get(TYPE_URL.endpoint)).toBe('v1');
  });

  it('moves traffic to a new backend when a new snapshot version is pushed mid-run', async () => {
    const started = performance.now();
    ads.cache.setSnapshot(NODE_ID, proxylessSnapshot('v2', b.port));
    expect(await until('traffic on backend-b', async () => ((await who(client)) === 'backend-b' ? 'backend-b' : undefined))).toBe('backend-b');
    console.log(`grpc-js-xds: traffic moved to the new endpoint ${(performance.now() - started).toFixed(0)} ms after setSnapshot`);
    for (let i = 0; i < 5; i++) expect(await who(client)).toBe('backend-b');
    const eds = ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.endpoint);
    expect(eds?.lastAckedVersion).toBe('v2');
  });

  it('records the NACK of an invalid resource in the node status, and the client keeps its last good config', async () => {
    ads.cache.setSnapshot(NODE_ID, proxylessSnapshot('v3', a.port, staticCluster('echo-backend', '127.0.0.1', a.port)));
    const nack = await until('NACK in status', () => {
      const cds = ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.cluster);
      return cds?.lastNack;
    });
    expect(nack.rejectedVersion).toBe('v3');
    expect(nack.message).toMatch(/Unsupported type STATIC/);
    const cds = ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.cluster);
    // v2 only moved endpoints, so the cluster type was last sent (and ACKed) at v1.
    expect(cds).toMatchObject({ state: 'nacked', lastAckedVersion: 'v1', lastSentVersion: 'v3' });

    // No NACK loop: the rejected cluster is not sent again.
    const sentNonce = cds?.lastSentNonce;
    await new Promise((r) => setTimeout(r, 500));
    expect(ads.status.list()[0]?.types.find((t) => t.typeUrl === TYPE_URL.cluster)?.lastSentNonce).toBe(sentNonce);
    // The rest of v3 (endpoints back on backend-a) was valid and applied; the call still succeeds.
    expect(await until('call after NACK', () => who(client))).toMatch(/^backend-/);
  });
});
