import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { fakeLookup } from '../support/server.js';

const POLICY = 'version: 1\negress:\n  - identity: "*"\n    allow: [{ host: api.vendor.example, scheme: https }]\n';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-provider-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  // TOLLGATE_XDS=off, as the provider manifests set it.
  const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: join(dir, 'policy.yaml'), watchPolicy: false }, { TOLLGATE_XDS: 'off' });
  expect(config.xds).toBe(false);
  server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: fakeLookup });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** grpc.health.v1.Health/Check for one service name: SERVING (1), or the gRPC error code (NOT_FOUND for an unknown service). */
function health(service: string): Promise<{ status?: number; code?: number }> {
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
  const name = Buffer.from(service);
  const request = service ? Buffer.concat([Buffer.from([0x0a, name.length]), name]) : Buffer.alloc(0);
  return new Promise((resolve) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, request, { deadline: Date.now() + 5000 }, (err, res) => {
      client.close();
      // HealthCheckResponse{status = 1}: field 1, varint.
      resolve(err ? { code: err.code } : { status: res && res.length >= 2 ? res[1] : 0 });
    });
  });
}

describe('provider mode (tollgate serve --no-xds / TOLLGATE_XDS=off)', () => {
  it('ext_authz decides for a gateway configured by someone else', async () => {
    const driver = new EnvoyExtAuthzDriver(server.grpcPort);
    try {
      expect((await driver.check({ method: 'GET', authority: 'api.vendor.example', path: '/v1/x', scheme: 'https' })).allowed).toBe(true);
      expect((await driver.check({ method: 'GET', authority: 'evil.example', path: '/', scheme: 'https' })).allowed).toBe(false);
    } finally {
      driver.close();
    }
  });

  it('ext_proc scrubs the request body', async () => {
    const driver = new EnvoyExtProcDriver(server.grpcPort);
    try {
      const body = Buffer.from('{"note":"mail jane.doe@example.com"}');
      const headers: Array<[string, string]> = [[':method', 'POST'], [':path', '/v1/notes'], [':authority', 'api.vendor.example'], [':scheme', 'https'], ['content-type', 'application/json'], ['content-length', String(body.length)]];
      const out = await driver.process({ headers, body: [body] }, { requestBodyMode: 'NONE', allowModeOverride: true });
      expect(out.result).toBe('forwarded');
      expect(out.upstream?.body.toString()).not.toContain('jane.doe@example.com');
    } finally {
      driver.close();
    }
  });

  it('serves no ADS: a stream is UNIMPLEMENTED and health does not list the service', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const def = serviceDefinition(ADS_SERVICE).StreamAggregatedResources!;
    const stream = client.makeBidiStreamRequest(def.path, def.requestSerialize as (r: DiscoveryRequest) => Buffer, def.responseDeserialize as (b: Buffer) => DiscoveryResponse);
    const code = await new Promise<number>((resolve) => {
      stream.on('data', () => resolve(0));
      stream.on('error', (err: grpc.ServiceError) => resolve(err.code));
      stream.write({ node: { id: 'gw-1' }, type_url: TYPE_URL.cluster, resource_names: [], version_info: '', response_nonce: '' });
    });
    client.close();
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
    expect(await health('envoy.service.discovery.v3.AggregatedDiscoveryService')).toEqual({ code: grpc.status.NOT_FOUND });
    expect(await health('envoy.service.auth.v3.Authorization')).toEqual({ status: 1 });
    expect(await health('envoy.service.ext_proc.v3.ExternalProcessor')).toEqual({ status: 1 });
    expect(await health('envoy.service.accesslog.v3.AccessLogService')).toEqual({ status: 1 });
  });

  it('GET /v1/xds/nodes answers an empty list and says why', async () => {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/v1/xds/nodes`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { nodes: unknown[]; note: string; snapshot_version: unknown };
    expect(body.nodes).toEqual([]);
    expect(body.snapshot_version).toBeNull();
    expect(body.note).toMatch(/provider mode/);
  });
});
