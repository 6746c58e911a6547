import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { lookupMessageType } from '../../src/proto/envoy-config.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { makeTestPki, type TestPki } from '../support/certs.js';

const TOKEN = 'envoy-shared-token-0123456789';
const POLICY = 'version: 1\negress:\n  - identity: "*"\n    allow: [{ host: api.vendor.example }]\n';

let pki: TestPki;
let dir: string;
let server: RunningServer;

function write(name: string, text: string): string {
  const file = join(dir, 'certs', name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'tollgate-mtls-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  mkdirSync(join(dir, 'certs'));
  const config = loadConfig(
    {
      grpcAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      dataDir: join(dir, 'data'),
      policyFile: join(dir, 'policy.yaml'),
      watchPolicy: false,
      downstreamTls: 'mtls',
      tlsCertFile: write('tls.crt', pki.server.cert),
      tlsKeyFile: write('tls.key', pki.server.key),
      clientCaFile: write('ca.crt', pki.ca.cert),
      envoyToken: TOKEN,
    },
    {},
  );
  server = await startServer(config, { logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A SotW ADS stream asking for the listener's SDS secrets by name, as Envoy does once the listener names them. */
function secretStream(metadata: grpc.Metadata) {
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
  const def = serviceDefinition(ADS_SERVICE).StreamAggregatedResources!;
  const stream = client.makeBidiStreamRequest(def.path, def.requestSerialize as (r: DiscoveryRequest) => Buffer, def.responseDeserialize as (b: Buffer) => DiscoveryResponse, metadata);
  const responses: DiscoveryResponse[] = [];
  const waiters: Array<() => void> = [];
  let status: grpc.StatusObject | undefined;
  stream.on('data', (r: DiscoveryResponse) => {
    responses.push(r);
    waiters.splice(0).forEach((w) => w());
  });
  stream.on('status', (s: grpc.StatusObject) => {
    status = s;
    waiters.splice(0).forEach((w) => w());
  });
  stream.on('error', () => undefined);
  const names = ['egress_server_cert', 'egress_client_ca'];
  stream.write({ node: { id: 'gw-1', cluster: 'egress' }, type_url: TYPE_URL.secret, resource_names: names } as DiscoveryRequest);
  const next = (count: number, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response ${count} (status ${status?.code})`)), ms);
      const check = () => {
        if (responses.length >= count || status) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  const ack = (r: DiscoveryResponse) => stream.write({ type_url: TYPE_URL.secret, resource_names: names, version_info: r.version_info, response_nonce: r.nonce } as DiscoveryRequest);
  return { responses, next, ack, status: () => status, close: () => (stream.cancel(), client.close()) };
}

function decodeSecrets(res: DiscoveryResponse): Record<string, Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const type = lookupMessageType('envoy.extensions.transport_sockets.tls.v3.Secret')!;
  const out: Record<string, Record<string, unknown>> = {};
  for (const any of res.resources ?? []) {
    const s = type.toObject(type.decode((any as { value: Uint8Array }).value), { oneofs: true }) as { name: string };
    out[s.name] = s;
  }
  return out;
}

const withToken = () => {
  const md = new grpc.Metadata();
  md.set('x-tollgate-token', TOKEN);
  return md;
};

describe('downstream mTLS: certificates reach Envoy by SDS over the authenticated ADS stream', () => {
  it('an ADS stream without the Envoy token is refused before it learns anything', async () => {
    const s = secretStream(new grpc.Metadata());
    await s.next(1);
    expect(s.responses).toHaveLength(0);
    expect(s.status()?.code).toBe(grpc.status.UNAUTHENTICATED);
    s.close();
  });

  it('the gateway gets its certificate, key and client CA, and a rotated certificate is pushed without a restart', async () => {
    const s = secretStream(withToken());
    await s.next(1);
    const first = decodeSecrets(s.responses[0]!);
    expect(first.egress_server_cert!.tls_certificate.certificate_chain.inline_string).toBe(pki.server.cert);
    expect(first.egress_client_ca!.validation_context.trusted_ca.inline_string).toBe(pki.ca.cert);
    s.ack(s.responses[0]!);
    // A half-written or mismatched pair is refused and the old certificate keeps serving.
    write('tls.key', pki.client({ cn: 'other' }).key);
    await new Promise((r) => setTimeout(r, 600));
    expect(s.responses).toHaveLength(1);
    // cert-manager writes both files: the new pair is pushed as new secrets.
    const rotated = pki.client({ cn: 'egress-gateway.local', sans: ['DNS:egress-gateway.local'] });
    write('tls.crt', rotated.cert);
    write('tls.key', rotated.key);
    await s.next(2);
    const second = decodeSecrets(s.responses[1]!);
    expect(second.egress_server_cert!.tls_certificate.certificate_chain.inline_string).toBe(rotated.cert);
    expect(s.responses[1]!.version_info).not.toBe(s.responses[0]!.version_info);
    s.close();
  });

  it('the access-log stream needs the token too: forged entries never reach the audit log or the inventory', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const def = serviceDefinition('envoy.service.accesslog.v3.AccessLogService').StreamAccessLogs!;
    const seen: unknown[] = [];
    const unsubscribe = server.events.subscribe((batch) => void seen.push(...batch));
    const send = (md: grpc.Metadata, id: string) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.makeClientStreamRequest(def.path, def.requestSerialize as (m: unknown) => Buffer, def.responseDeserialize as (b: Buffer) => unknown, md, {}, (err) => resolve(err));
        call.write({ identifier: { node: { id: 'gw-7' }, log_name: 'tollgate' }, http_logs: { log_entry: [{ request: { request_method: 'GET', authority: 'evil.example', path: '/', request_id: id }, response: { response_code: { value: 200 } } }] } });
        call.end();
      });
    const forged = await send(new grpc.Metadata(), 'forged-1');
    expect(forged?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await send(withToken(), 'real-1')).toBeNull();
    await server.events.flush();
    unsubscribe();
    client.close();
    const ids = seen.map((e) => (e as { request_id?: string }).request_id);
    expect(ids).toContain('real-1');
    expect(ids).not.toContain('forged-1');
    expect(seen.find((e) => (e as { request_id?: string }).request_id === 'real-1')).toMatchObject({ gateway: 'gw-7' });
  });
});

describe('downstream mTLS configuration errors', () => {
  it('a key that does not match the certificate stops startup with a message naming both files', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'tollgate-mtls-bad-'));
    writeFileSync(join(bad, 'tls.crt'), pki.server.cert);
    writeFileSync(join(bad, 'tls.key'), pki.client({ cn: 'x' }).key);
    writeFileSync(join(bad, 'ca.crt'), pki.ca.cert);
    const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(bad, 'data'), downstreamTls: 'mtls', tlsCertFile: join(bad, 'tls.crt'), tlsKeyFile: join(bad, 'tls.key'), clientCaFile: join(bad, 'ca.crt') }, {});
    await expect(startServer(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(/tls\.key does not match .*tls\.crt/);
    rmSync(bad, { recursive: true, force: true });
  });

  it('mtls without certificate files is a configuration error that names the missing setting', () => {
    expect(() => loadConfig({ downstreamTls: 'mtls' }, {})).toThrow(/TOLLGATE_TLS_CERT/);
  });

  it('serving SDS secrets off loopback without an Envoy token is refused', async () => {
    const config = loadConfig({ grpcAddress: '0.0.0.0:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data2'), downstreamTls: 'mtls', tlsCertFile: join(dir, 'certs', 'tls.crt'), tlsKeyFile: join(dir, 'certs', 'tls.key'), clientCaFile: join(dir, 'certs', 'ca.crt') }, {});
    await expect(startServer(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(/TOLLGATE_ENVOY_TOKEN/);
  });
});
