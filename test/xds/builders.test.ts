import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDownstream } from '../../src/xds/downstream-certs.js';
import { describe, expect, it } from 'vitest';
import { checkFile, checkMessage, decodeMessage, encodeMessage } from '../../src/proto/strict/index.js';
import { buildResources } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { bootstrapConfig, BOOTSTRAP_DEFAULTS } from '../../src/xds/bootstrap.js';
import { TEST_POLICY } from '../support/policies.js';
import { compile, randomPolicy } from './fixtures/random-policy.js';

const defaults = xdsOptionsSchema.parse({});

describe('xDS resources built from policy', () => {
  it('every resource from 200 random policies passes the strict Envoy proto check and encodes', () => {
    let total = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const opts = xdsOptionsSchema.parse({ accessLog: seed % 2 === 0, extProc: seed % 3 !== 0, failureModeAllow: seed % 5 === 0 });
      for (const res of buildResources(compile(randomPolicy(seed)), opts)) {
        expect(checkMessage(res.typeName, res.json), `${res.name} (seed ${seed})`).toEqual([]);
        total++;
      }
    }
    expect(total).toBeGreaterThan(1000);
  });

  it('the HTTP filter chain is ext_authz → ext_proc → router, failing closed at Tollgate', () => {
    const listener = buildResources(compile(TEST_POLICY), defaults).find((r) => r.name === 'egress_http' && r.typeName.endsWith('Listener'))!;
    const hcm = (listener.json.filter_chains as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>)[0]!.filters[0]!.typed_config;
    const filters = (hcm.http_filters as Array<{ name: string; typed_config: Record<string, unknown> }>).map((f) => f.name);
    expect(filters).toEqual(['envoy.filters.http.ext_authz', 'envoy.filters.http.ext_proc', 'envoy.filters.http.dynamic_forward_proxy', 'envoy.filters.http.router']);
    const authz = (hcm.http_filters as Array<{ typed_config: Record<string, unknown> }>)[0]!.typed_config;
    expect(authz.failure_mode_allow).toBe(false);
  });

  it('an exact https destination gets a cluster that originates TLS with SNI and a pinned SAN', () => {
    const resources = buildResources(compile(TEST_POLICY), defaults);
    const cluster = resources.find((r) => r.name === 'out_https|api.stripe.com|443')!;
    expect(cluster).toBeDefined();
    const bytes = (encodeAndDecode(cluster.typeName, cluster.json) as { transport_socket: { typed_config: Record<string, unknown> } }).transport_socket.typed_config;
    expect(bytes).toMatchObject({
      sni: 'api.stripe.com',
      common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.stripe.com' } }] } },
    });
  });

  it('routes send allowed hosts to their clusters and everything else to a 403 in Envoy itself', () => {
    const enforcing = TEST_POLICY.replace('    mode: report\n    match: { sourceCidr', '    match: { sourceCidr');
    const routes = buildResources(compile(enforcing), defaults).find((r) => r.typeName.endsWith('RouteConfiguration'))!;
    const vhosts = routes.json.virtual_hosts as Array<{ name: string; domains: string[]; routes: Array<Record<string, unknown>> }>;
    const stripe = vhosts.find((v) => v.name === 'dest|api.stripe.com')!;
    expect(stripe.domains).toEqual(['api.stripe.com', 'api.stripe.com:443']);
    const last = vhosts[vhosts.length - 1]!;
    expect(last.domains).toEqual(['*']);
    expect(last.routes.every((r) => (r.direct_response as { status: number }).status === 403)).toBe(true);
    expect(routes.json.request_headers_to_remove).toEqual(['x-tollgate-decision-id', 'x-tollgate-identity']);
  });

  it('CONNECT is routed only to host:port pairs a rule allows to tunnel', () => {
    const routes = buildResources(compile(TEST_POLICY), defaults).find((r) => r.typeName.endsWith('RouteConfiguration'))!;
    const vhosts = routes.json.virtual_hosts as Array<{ name: string; routes: Array<{ match: Record<string, unknown>; route?: { cluster: string } }> }>;
    const connectTargets = vhosts.flatMap((v) => v.routes.filter((r) => r.match.connect_matcher && r.route).map((r) => `${v.name} → ${r.route!.cluster}`));
    expect(connectTargets).toContain('dest|api.github.com → tunnel|api.github.com|443');
    expect(connectTargets.some((t) => t.startsWith('dest|files.stripe.com'))).toBe(false);
  });

  it('every Envoy YAML shipped in envoy/ passes the strict check, and matches `tollgate bootstrap`', () => {
    expect(checkFile('envoy/bootstrap.yaml')).toEqual([]);
    expect(checkMessage('envoy.config.bootstrap.v3.Bootstrap', bootstrapConfig(BOOTSTRAP_DEFAULTS))).toEqual([]);
    const shipped = readFileSync('envoy/bootstrap.yaml', 'utf8');
    expect(shipped).toContain('address: tollgate');
    const compose = readFileSync('docker-compose.yml', 'utf8');
    // docker-compose writes the same bootstrap plus the Envoy token, which must not be a checked-in file.
    expect(compose).toContain('bootstrap --xds tollgate:7070 --envoy-token-env > /bootstrap/bootstrap.yaml');
    // The cluster Tollgate pushes must name the same address the bootstrap's ADS cluster uses.
    expect(compose).toContain('TOLLGATE_XDS_TOLLGATE_ADDRESS: tollgate:7070');
    expect(shipped).toContain('port_value: 7070');
  });

  it('the docker-compose demo certificates from scripts/dev-certs.sh are accepted for downstream mTLS, with a billing SPIFFE client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-devcerts-'));
    try {
      execFileSync('sh', ['scripts/dev-certs.sh', dir], { stdio: 'ignore' });
      const d = await loadDownstream({ mode: 'mtls', certFile: join(dir, 'gateway.crt'), keyFile: join(dir, 'gateway.key'), caFile: join(dir, 'ca.crt'), trustDomain: 'prod.example' });
      expect(d.mode).toBe('mtls');
      expect(new X509Certificate(readFileSync(join(dir, 'billing.crt'))).subjectAltName).toBe('URI:spiffe://prod.example/ns/billing/sa/web');
      const compose = readFileSync('docker-compose.yml', 'utf8');
      for (const f of ['/certs/gateway.crt', '/certs/gateway.key', '/certs/ca.crt', '/certs/billing.crt']) expect(compose).toContain(f);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function encodeAndDecode(typeName: string, json: Record<string, unknown>): unknown {
  return decodeMessage(typeName, encodeMessage(typeName, json));
}

describe('report mode and the Envoy catch-all', () => {
  const catchAll = (text: string) => {
    const routes = buildResources(compile(text), defaults).find((r) => r.typeName.endsWith('RouteConfiguration'))!;
    const vhosts = routes.json.virtual_hosts as Array<{ name: string; routes: Array<Record<string, unknown>> }>;
    return vhosts[vhosts.length - 1]!;
  };

  it('an enforcing policy answers unknown destinations with 403 inside Envoy', () => {
    expect(catchAll('version: 1\n').name).toBe('default_deny');
  });

  it('when an identity runs in report mode, unknown destinations are forwarded so ext_authz can report instead of Envoy denying', () => {
    const text = 'version: 1\nidentities:\n  - { name: batch, mode: report, match: { sourceCidr: "10.0.0.0/8" } }\n';
    const vhost = catchAll(text);
    expect(vhost.name).toBe('default_forward_report_mode');
    const resources = buildResources(compile(text), defaults);
    for (const r of resources) expect(checkMessage(r.typeName, r.json), r.name).toEqual([]);
    expect(resources.map((r) => r.name)).toEqual(expect.arrayContaining(['egress_dfp_tls', 'egress_dfp_plain']));
  });
});
