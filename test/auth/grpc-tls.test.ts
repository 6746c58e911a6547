import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { checkMessage, decodeMessage } from '../../src/proto/strict/index.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { bootstrapConfig, BOOTSTRAP_DEFAULTS } from '../../src/xds/bootstrap.js';
import { buildResources } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { checkEnvoySemantics } from '../../src/xds/semantics/index.js';
import { compile } from '../xds/fixtures/random-policy.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { makeTestPki, type Pem, type TestPki } from '../support/certs.js';

const POLICY = 'version: 1\negress:\n  - identity: "*"\n    allow: [{ host: api.vendor.example }]\n';

let pki: TestPki;
let envoy: Pem;
let dir: string;
let server: RunningServer;

function write(name: string, text: string): string {
  const file = join(dir, 'certs', name);
  writeFileSync(file, text);
  return file;
}

function creds(ca: string, client?: Pem): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(ca), client ? Buffer.from(client.key) : null, client ? Buffer.from(client.cert) : null);
}

/** grpc.health.v1.Health/Check for the whole server: the gRPC status code the call ends with (0 = it answered). */
function health(credentials: grpc.ChannelCredentials): Promise<number> {
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, credentials);
  return new Promise<number>((resolve) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ? err.code : 0);
    });
  });
}

/** One SotW ADS request over TLS, as Envoy's `tollgate_xds` cluster would send it; the first response. */
function adsFetch(credentials: grpc.ChannelCredentials, typeUrl: string, names: string[] = []): Promise<DiscoveryResponse> {
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, credentials);
  const def = serviceDefinition(ADS_SERVICE).StreamAggregatedResources!;
  const stream = client.makeBidiStreamRequest(def.path, def.requestSerialize as (r: DiscoveryRequest) => Buffer, def.responseDeserialize as (b: Buffer) => DiscoveryResponse);
  return new Promise<DiscoveryResponse>((resolve, reject) => {
    stream.on('data', (res: DiscoveryResponse) => {
      stream.cancel();
      client.close();
      resolve(res);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
    stream.write({ node: { id: 'gw-1', cluster: 'egress-gateway' }, type_url: typeUrl, resource_names: names, version_info: '', response_nonce: '' });
  });
}

/** Each resource as canonical proto-JSON (Any payloads expanded with their `@type`), the way Envoy YAML spells it. */
function decodeAll(res: DiscoveryResponse, typeName: string): Array<Record<string, unknown>> {
  return (res.resources ?? []).map((r) => decodeMessage(typeName, r.value as Uint8Array) as Record<string, unknown>);
}

beforeAll(async () => {
  pki = makeTestPki();
  envoy = pki.client({ cn: 'egress-gateway', sans: ['URI:spiffe://prod.example/ns/egress/sa/gateway'] });
  dir = mkdtempSync(join(tmpdir(), 'tollgate-grpc-tls-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  mkdirSync(join(dir, 'certs'));
  const config = loadConfig(
    {
      grpcAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      dataDir: join(dir, 'data'),
      policyFile: join(dir, 'policy.yaml'),
      watchPolicy: false,
      grpcTlsCertFile: write('tls.crt', pki.server.cert),
      grpcTlsKeyFile: write('tls.key', pki.server.key),
      grpcClientCaFile: write('client-ca.crt', pki.ca.cert),
      grpcEnvoyCertFile: write('envoy.crt', envoy.cert),
      grpcEnvoyKeyFile: write('envoy.key', envoy.key),
    },
    {},
  );
  server = await startServer(config, { logger: pino({ level: 'silent' }) });
}, 30_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS between Envoy and Tollgate', () => {
  it('a client presenting a certificate from the client CA is served over TLS', async () => {
    expect(await health(creds(pki.ca.cert, envoy))).toBe(0);
  });

  it('a client without a certificate, with one from another CA, or in plaintext is refused at the handshake', async () => {
    expect(await health(creds(pki.ca.cert))).toBe(grpc.status.UNAVAILABLE);
    expect(await health(creds(pki.ca.cert, pki.untrustedClient({ cn: 'rogue' })))).toBe(grpc.status.UNAVAILABLE);
    expect(await health(grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
  });

  it('the pushed tollgate cluster verifies Tollgate and presents Envoy’s certificate, both as SDS secrets on the ADS stream', async () => {
    const client = creds(pki.ca.cert, envoy);
    const clusters = decodeAll(await adsFetch(client, TYPE_URL.cluster), 'envoy.config.cluster.v3.Cluster');
    const tollgate = clusters.find((c) => c.name === 'tollgate')!;
    expect(checkMessage('envoy.config.cluster.v3.Cluster', tollgate)).toEqual([]);
    const socket = tollgate.transport_socket as { name: string; typed_config: Record<string, unknown> };
    expect(socket.name).toBe('envoy.transport_sockets.tls');
    expect(socket.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    const tls = socket.typed_config as { common_tls_context: { tls_certificate_sds_secret_configs: Array<{ name: string }>; validation_context_sds_secret_config: { name: string }; alpn_protocols: string[] } };
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs.map((s) => s.name)).toEqual(['tollgate_client_cert']);
    expect(tls.common_tls_context.validation_context_sds_secret_config.name).toBe('tollgate_server_ca');
    expect(tls.common_tls_context.alpn_protocols).toEqual(['h2']);

    const secrets = decodeAll(await adsFetch(client, TYPE_URL.secret, ['tollgate_client_cert', 'tollgate_server_ca']), 'envoy.extensions.transport_sockets.tls.v3.Secret');
    for (const s of secrets) expect(checkMessage('envoy.extensions.transport_sockets.tls.v3.Secret', s)).toEqual([]);
    const byName = new Map(secrets.map((s) => [s.name as string, s]));
    const cert = byName.get('tollgate_client_cert') as { tls_certificate: { certificate_chain: { inline_string?: string; inline_bytes?: unknown } } };
    expect(cert.tls_certificate.certificate_chain.inline_string).toBe(envoy.cert);
    const ca = byName.get('tollgate_server_ca') as { validation_context: { trusted_ca: { inline_string: string }; match_typed_subject_alt_names: Array<{ san_type: string; matcher: { exact: string } }> } };
    expect(ca.validation_context.trusted_ca.inline_string).toBe(pki.ca.cert);
    // Tollgate is reached at 127.0.0.1: its certificate must carry that IP SAN (makeTestPki's server certificate does).
    expect(ca.validation_context.match_typed_subject_alt_names).toEqual([{ san_type: 'IP_ADDRESS', matcher: { exact: '127.0.0.1' } }]);
  });

  it('a rotated Envoy client certificate is pushed as a new SDS secret without a restart', async () => {
    const renewed = pki.client({ cn: 'egress-gateway', sans: ['URI:spiffe://prod.example/ns/egress/sa/gateway'] });
    write('envoy.key', renewed.key);
    write('envoy.crt', renewed.cert);
    let pushed: string | undefined;
    for (let i = 0; i < 100 && pushed !== renewed.cert; i++) {
      const [secret] = decodeAll(await adsFetch(creds(pki.ca.cert, envoy), TYPE_URL.secret, ['tollgate_client_cert']), 'envoy.extensions.transport_sockets.tls.v3.Secret');
      pushed = (secret as { tls_certificate: { certificate_chain: { inline_string: string } } }).tls_certificate.certificate_chain.inline_string;
      if (pushed !== renewed.cert) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pushed).toBe(renewed.cert);
    envoy = renewed;
  });

  it('a rotated server certificate and client CA are picked up from disk without a restart', async () => {
    const next = makeTestPki();
    const nextEnvoy = next.client({ cn: 'egress-gateway' });
    // The new CA signs the key pair first, as cert-manager would; the old pair keeps serving meanwhile.
    write('client-ca.crt', next.ca.cert);
    write('tls.key', next.server.key);
    write('tls.crt', next.server.cert);
    let code = -1;
    for (let i = 0; i < 100 && code !== 0; i++) {
      code = await health(creds(next.ca.cert, nextEnvoy));
      if (code !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe(0);
    // The old client trusts only the old CA, and its certificate no longer chains to the client CA.
    expect(await health(creds(pki.ca.cert, envoy))).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('the tollgate cluster and the bootstrap over TLS, as Envoy loads them', () => {
  const tollgateTls = { clientCertificateChain: '-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n', clientPrivateKey: '-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n', trustedCa: '-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n' };

  it('a named Tollgate address gets SNI and a DNS SAN pin; the snapshot passes the strict proto check and Envoy’s load-time rules', async () => {
    const policy = compile(POLICY);
    const opts = xdsOptionsSchema.parse({ tollgateAddress: 'tollgate.tollgate.svc:7070', tollgateTls });
    const resources = buildResources(policy, opts);
    for (const r of resources) expect(checkMessage(r.typeName, r.json), r.name).toEqual([]);
    expect(checkEnvoySemantics(resources)).toEqual([]);
    const cluster = resources.find((r) => r.name === 'tollgate')!;
    expect((cluster.json.transport_socket as { typed_config: { sni: string } }).typed_config.sni).toBe('tollgate.tollgate.svc');
    const ca = resources.find((r) => r.name === 'tollgate_server_ca')!;
    expect((ca.json.validation_context as { match_typed_subject_alt_names: unknown }).match_typed_subject_alt_names).toEqual([{ san_type: 'DNS', matcher: { exact: 'tollgate.tollgate.svc' } }]);
    // Without the secrets the cluster would name SDS secrets that do not exist: the snapshot must carry both.
    expect(resources.filter((r) => r.typeUrl === TYPE_URL.secret).map((r) => r.name).sort()).toEqual(['tollgate_client_cert', 'tollgate_server_ca']);
  });

  it('tollgate bootstrap --tls-ca/--tls-cert/--tls-key gives the ADS cluster an UpstreamTlsContext from files that passes the strict check', () => {
    const boot = bootstrapConfig({ ...BOOTSTRAP_DEFAULTS, xdsAddress: 'tollgate.tollgate.svc:7070', tls: { caFile: '/etc/tollgate-tls/ca.crt', certFile: '/etc/tollgate-tls/tls.crt', keyFile: '/etc/tollgate-tls/tls.key' } });
    expect(checkMessage('envoy.config.bootstrap.v3.Bootstrap', boot)).toEqual([]);
    const cluster = (boot.static_resources as { clusters: Array<{ transport_socket: { typed_config: Record<string, unknown> } }> }).clusters[0]!;
    expect(cluster.transport_socket.typed_config).toMatchObject({
      sni: 'tollgate.tollgate.svc',
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: '/etc/tollgate-tls/tls.crt' }, private_key: { filename: '/etc/tollgate-tls/tls.key' } }],
        validation_context: { trusted_ca: { filename: '/etc/tollgate-tls/ca.crt' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'tollgate.tollgate.svc' } }] },
      },
    });
    const plain = bootstrapConfig(BOOTSTRAP_DEFAULTS);
    expect(JSON.stringify(plain)).not.toContain('transport_socket');
  });
});

describe('gRPC TLS configuration mistakes are refused before serving', () => {
  it('a certificate without its key, a client CA without TLS, or client certificates required with no certificate for the pushed cluster', () => {
    const base = { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0' };
    expect(() => loadConfig(base, { TOLLGATE_GRPC_TLS_CERT: '/tls/tls.crt' })).toThrow(/TOLLGATE_GRPC_TLS_KEY/);
    expect(() => loadConfig(base, { TOLLGATE_GRPC_CLIENT_CA: '/tls/ca.crt' })).toThrow(/needs TLS on the gRPC port/);
    expect(() => loadConfig(base, { TOLLGATE_GRPC_TLS_CERT: '/t.crt', TOLLGATE_GRPC_TLS_KEY: '/t.key', TOLLGATE_GRPC_CLIENT_CA: '/ca.crt' })).toThrow(/TOLLGATE_GRPC_ENVOY_CERT/);
    // In provider mode the other gateway brings its own client certificate.
    expect(loadConfig(base, { TOLLGATE_GRPC_TLS_CERT: '/t.crt', TOLLGATE_GRPC_TLS_KEY: '/t.key', TOLLGATE_GRPC_CLIENT_CA: '/ca.crt', TOLLGATE_XDS: 'off' }).xds).toBe(false);
  });

  it('a key that does not match the gRPC certificate stops startup with a message naming both files', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'tollgate-grpc-tls-bad-'));
    try {
      writeFileSync(join(bad, 'tls.crt'), pki.server.cert);
      writeFileSync(join(bad, 'tls.key'), pki.ca.key);
      const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(bad, 'data'), grpcTlsCertFile: join(bad, 'tls.crt'), grpcTlsKeyFile: join(bad, 'tls.key') }, {});
      await expect(startServer(config, { logger: pino({ level: 'silent' }) })).rejects.toThrow(/tls\.key does not match .*tls\.crt/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
