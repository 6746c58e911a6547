import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { serviceDefinition } from '../../src/proto/load.js';
import { scrubMetricsSink } from '../../src/metrics/instrument.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { fakeLookup, startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'admin-token-0123456789abcdef';
const POLICY = `version: 1
identities:
  - name: billing
    match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" }
egress:
  - identity: billing
    allow: [{ host: api.vendor.example, scheme: https }]
`;
/** Values that identify someone or somewhere: none may appear in a label. */
const IDENTIFYING = ['billing', 'spiffe', 'api.vendor.example', 'evil.example', 'gw-metrics-1', '/v1/', 'jane.doe', '10.0.5.7'];

let dir: string;
let server: RunningServer;
let ads: { client: grpc.Client; stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-metrics-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const config = loadConfig(
    { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: join(dir, 'policy.yaml'), watchPolicy: false, adminToken: TOKEN },
    { TOLLGATE_METRICS_ADDRESS: '127.0.0.1:0' },
  );
  server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: fakeLookup });
  await traffic();
});
afterAll(async () => {
  ads?.stream.cancel();
  ads?.client.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One allowed and one denied Check, a scrubbed ext_proc stream, and an Envoy that connects over ADS and ACKs its clusters. */
async function traffic(): Promise<void> {
  const authz = new EnvoyExtAuthzDriver(server.grpcPort);
  const principal = 'spiffe://prod.example/ns/billing/sa/web';
  expect((await authz.check({ method: 'POST', authority: 'api.vendor.example', path: '/v1/charges', scheme: 'https', peerPrincipal: principal })).allowed).toBe(true);
  expect((await authz.check({ method: 'GET', authority: 'evil.example', path: '/v1/x', scheme: 'https', peerPrincipal: principal })).allowed).toBe(false);
  authz.close();

  const proc = new EnvoyExtProcDriver(server.grpcPort);
  const body = Buffer.from('{"note":"mail jane.doe@example.com"}');
  const headers: Array<[string, string]> = [[':method', 'POST'], [':path', '/v1/notes'], [':authority', 'api.vendor.example'], [':scheme', 'https'], ['content-type', 'application/json'], ['content-length', String(body.length)]];
  expect((await proc.process({ headers, body: [body] }, { requestBodyMode: 'NONE', allowModeOverride: true })).result).toBe('forwarded');
  proc.close();

  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
  const def = serviceDefinition(ADS_SERVICE).StreamAggregatedResources!;
  const stream = client.makeBidiStreamRequest(def.path, def.requestSerialize as (r: DiscoveryRequest) => Buffer, def.responseDeserialize as (b: Buffer) => DiscoveryResponse);
  ads = { client, stream };
  stream.on('error', () => undefined);
  const first = await new Promise<DiscoveryResponse>((resolve) => {
    stream.once('data', resolve);
    stream.write({ node: { id: 'gw-metrics-1', cluster: 'egress-gateway' }, type_url: TYPE_URL.cluster, resource_names: [], version_info: '', response_nonce: '' });
  });
  stream.write({ type_url: TYPE_URL.cluster, resource_names: [], version_info: first.version_info, response_nonce: first.nonce });
}

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Scrapes until `line` matches (the ACK and the audit append land a moment after the calls return); bounded. */
async function scrapeUntil(pattern: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = await scrape();
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return text;
}

describe('Prometheus metrics by convention', () => {
  it('the metrics address serves /metrics without the admin token, and nothing else', async () => {
    expect(server.metricsPort).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/v1/policy`)).status).toBe(404);
  });

  it('the admin API’s /metrics still needs the token', async () => {
    expect((await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${server.adminPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('process and Node.js metrics have their standard names, without a doubled prefix', async () => {
    const text = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_total_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toMatch(new RegExp(`^${name}(\\{| )`, 'm'));
    }
    expect(text).not.toContain('tollgate_process_');
  });

  it('ext_authz, ext_proc, xDS, ALS, audit and alert metrics are exported under their names', async () => {
    const text = await scrapeUntil(/^tollgate_audit_records_appended_total [1-9]/m);
    const expected = [
      /^tollgate_authz_decisions_total\{verdict="allow",mode="enforce"\} 1$/m,
      /^tollgate_authz_decisions_total\{verdict="deny",mode="enforce"\} 1$/m,
      /^tollgate_extproc_streams_total\{outcome="scrubbed"\} 1$/m,
      /^tollgate_extproc_findings_total\{type="email",action="redact"\} 1$/m,
      /^tollgate_extproc_stream_duration_seconds_count 1$/m,
      /^tollgate_xds_connected_envoys 1$/m,
      /^tollgate_xds_snapshots_total\{result="pushed"\} [1-9]/m,
      /^tollgate_xds_snapshot_build_duration_seconds_count [1-9]/m,
      /^tollgate_als_entries_total 0$/m,
      /^tollgate_als_refused_streams_total 0$/m,
      /^tollgate_audit_records_appended_total [1-9]/m,
      /^tollgate_audit_append_duration_seconds_count [1-9]/m,
      /^tollgate_audit_append_failures_total 0$/m,
      /^tollgate_audit_records_dropped_total 0$/m,
      /^tollgate_alerts_sent_total 0$/m,
      /^tollgate_alerts_retried_total 0$/m,
      /^tollgate_alerts_dead_lettered_total 0$/m,
    ];
    for (const re of expected) expect(text).toMatch(re);
    const acked = await scrapeUntil(/^tollgate_xds_responses_total\{type="cluster",result="ack"\} 1$/m);
    expect(acked).toMatch(/^tollgate_xds_responses_total\{type="cluster",result="ack"\} 1$/m);
    expect(acked).toMatch(/^tollgate_xds_push_duration_seconds_count\{type="cluster"\} 1$/m);
  });

  it('no label carries an identity, a host, a path, a node id or an address', async () => {
    const text = await scrapeUntil(/^tollgate_xds_responses_total\{type="cluster",result="ack"\} 1$/m);
    const values = [...text.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((v) => v[1]!));
    expect(values.length).toBeGreaterThan(20);
    for (const v of values) for (const bad of IDENTIFYING) expect(v, `label value ${v}`).not.toContain(bad);
    // Label names come from a fixed set (besides prom-client's own: le, quantile, and the default metrics' labels).
    const names = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]!));
    const allowed = new Set(['verdict', 'mode', 'reason', 'task', 'outcome', 'type', 'action', 'result', 'le', 'quantile', 'kind', 'space', 'version', 'major', 'minor', 'patch']);
    expect([...names].filter((n) => !allowed.has(n))).toEqual([]);
  });
});

describe('alert delivery metrics', () => {
  let hook: Server;
  let app: TestServer;
  const seen = { flaky: 0, down: 0 };

  beforeAll(async () => {
    // `flaky` fails its first delivery and accepts the retry; `down` always fails.
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const which = req.url === '/flaky' ? 'flaky' : 'down';
        seen[which]++;
        res.writeHead(which === 'flaky' && seen.flaky > 1 ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    app = await startTestServer(`version: 1
egress:
  - identity: "*"
    allow: [{ host: api.vendor.example, scheme: https }]
alerts:
  sinks:
    - { name: flaky, type: webhook, url: "${base}/flaky" }
    - { name: down, type: webhook, url: "${base}/down" }
  rules:
    - { name: denials, type: denied, threshold: 1, sinks: [flaky, down] }
  retry: { attempts: 2, baseMs: 1, maxMs: 5 }
`);
  });
  afterAll(async () => {
    await app?.stop();
    await new Promise<void>((resolve) => hook?.close(() => resolve()));
  });

  it('an alert delivered on the second try counts as sent and retried; one a sink never takes is dead-lettered', async () => {
    const driver = new EnvoyExtAuthzDriver(app.grpcPort);
    for (let i = 0; i < 2; i++) expect((await driver.check({ method: 'GET', authority: 'evil.example', path: '/', scheme: 'https' })).allowed).toBe(false);
    driver.close();
    let text = '';
    for (let i = 0; i < 100 && !/^tollgate_alerts_dead_lettered_total 1$/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = await (await app.admin('/metrics')).text();
    }
    expect(text).toMatch(/^tollgate_alerts_dead_lettered_total 1$/m);
    expect(text).toMatch(/^tollgate_alerts_sent_total 1$/m);
    expect(text).toMatch(/^tollgate_alerts_retried_total 2$/m);
    expect(seen).toEqual({ flaky: 2, down: 2 });
  });
});

describe('access log metrics', () => {
  const ENVOY_TOKEN = 'envoy-shared-token-0123456789';
  let als: RunningServer;
  let alsDir: string;

  beforeAll(async () => {
    alsDir = mkdtempSync(join(tmpdir(), 'tollgate-metrics-als-'));
    writeFileSync(join(alsDir, 'policy.yaml'), POLICY);
    const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(alsDir, 'data'), policyFile: join(alsDir, 'policy.yaml'), watchPolicy: false, envoyToken: ENVOY_TOKEN }, {});
    als = await startServer(config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await als?.close();
    rmSync(alsDir, { recursive: true, force: true });
  });

  it('entries from a gateway with the Envoy token are counted, a stream without it is counted as refused', async () => {
    const client = new grpc.Client(`127.0.0.1:${als.grpcPort}`, grpc.credentials.createInsecure());
    const def = serviceDefinition('envoy.service.accesslog.v3.AccessLogService').StreamAccessLogs!;
    const send = (md: grpc.Metadata) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.makeClientStreamRequest(def.path, def.requestSerialize as (m: unknown) => Buffer, def.responseDeserialize as (b: Buffer) => unknown, md, {}, (err) => resolve(err));
        call.write({ identifier: { node: { id: 'gw-metrics-1' }, log_name: 'tollgate' }, http_logs: { log_entry: [{ request: { request_method: 'GET', authority: 'api.vendor.example', path: '/v1/x' }, response: { response_code: { value: 200 } } }] } });
        call.end();
      });
    const withToken = new grpc.Metadata();
    withToken.set('x-tollgate-token', ENVOY_TOKEN);
    expect((await send(new grpc.Metadata()))?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await send(withToken)).toBeNull();
    client.close();
    await als.events.flush();
    const text = await (await fetch(`http://127.0.0.1:${als.adminPort}/metrics`)).text();
    expect(text).toMatch(/^tollgate_als_refused_streams_total 1$/m);
    expect(text).toMatch(/^tollgate_als_entries_total 1$/m);
  });
});

describe('finding counts beyond the listed ones', () => {
  it('a stream with more findings than its record lists counts every one, under the action applied to that type', async () => {
    const metrics = createMetrics();
    const listed = Array.from({ length: 1000 }, () => ({ type: 'email', action: 'redact', where: 'body:0-1', fingerprint: 'f' }));
    scrubMetricsSink(metrics).record({ time: '', identity: 'unknown', destination: 'd', method: 'POST', path: '/', outcome: 'scrubbed', findings: listed, counts: { email: 1500, phone: 3 }, bytes_scanned: 1, body_mode: 'buffered' });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^tollgate_extproc_findings_total\{type="email",action="redact"\} 1500$/m);
    expect(text).toMatch(/^tollgate_extproc_findings_total\{type="phone",action="unlisted"\} 3$/m);
  });
});
