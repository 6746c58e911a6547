import { beforeAll, describe, expect, it } from 'vitest';
import { checkMessage } from '../../src/proto/strict/index.js';
import { buildResources, type ResourceJson } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema, type XdsOptions } from '../../src/xds/resources/options.js';
import { compile } from './fixtures/random-policy.js';
import { makeTestPki, type TestPki } from '../support/certs.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

const policyWith = (rules: string, scrub = '') => compile(`version: 1\negress:\n  - identity: "*"\n    allow:\n${rules}\n${scrub}`);
const listenerOf = (rs: ResourceJson[]) => rs.find((r) => r.typeName.endsWith('.Listener'))!.json as Json;
const routesOf = (rs: ResourceJson[]) => rs.find((r) => r.typeName.endsWith('.RouteConfiguration'))!.json as Json;
const hcmOf = (l: Json) => l.filter_chains[0].filters[0].typed_config as Json;
const filterOf = (l: Json, name: string) => (hcmOf(l).http_filters as Json[]).find((f) => f.name === name)!.typed_config as Json;

function strict(rs: ResourceJson[]): void {
  for (const r of rs) expect(checkMessage(r.typeName, r.json), r.name).toEqual([]);
}

describe('the gateway config Tollgate pushes, as Envoy reads it', () => {
  it('the same host and port under http and https is one virtual host domain, originating TLS', () => {
    const rs = buildResources(policyWith('      - { host: api.vendor.example, scheme: http, port: 443 }\n      - { host: api.vendor.example, scheme: https, methods: [GET] }'), xdsOptionsSchema.parse({}));
    strict(rs);
    const domains = (routesOf(rs).virtual_hosts as Json[]).flatMap((v) => v.domains as string[]);
    expect(new Set(domains).size).toBe(domains.length);
    expect(domains).toContain('api.vendor.example:443');
    expect(rs.map((r) => r.name)).toContain('out_https|api.vendor.example|443');
    expect(rs.map((r) => r.name)).not.toContain('out_http|api.vendor.example|443');
  });

  it('a port "*" rule is routed through the forward proxy for any port, before the catch-all 403', () => {
    const rs = buildResources(policyWith('      - { host: api.vendor.example, port: "*" }\n      - { host: "*.cdn.example", scheme: http, port: "*" }'), xdsOptionsSchema.parse({}));
    strict(rs);
    const catchAll = (routesOf(rs).virtual_hosts as Json[]).find((v) => (v.domains as string[]).includes('*'))!;
    const routes = catchAll.routes as Json[];
    const regexes = routes.filter((r) => r.route && r.match.prefix).map((r) => [r.match.headers[0].string_match.safe_regex.regex as string, r.route.cluster as string]);
    const routeFor = (authority: string) => regexes.find(([re]) => new RegExp(re!.replace('(?i)', ''), 'i').test(authority))?.[1];
    expect(routeFor('api.vendor.example:8443')).toBe('egress_dfp_tls');
    expect(routeFor('API.vendor.example')).toBe('egress_dfp_tls');
    expect(routeFor('a.b.cdn.example:8080')).toBe('egress_dfp_plain');
    expect(routeFor('cdn.example:8080')).toBeUndefined();
    expect(routeFor('api.vendor.example.evil.io:443')).toBeUndefined();
    expect(routes.at(-1)!.direct_response.status).toBe(403);
    expect((hcmOf(listenerOf(rs)).http_filters as Json[]).map((f) => f.name)).toContain('envoy.filters.http.dynamic_forward_proxy');
  });

  it('ext_proc receives ext_authz dynamic metadata, and the access log asks for no x-tollgate header', () => {
    const l = listenerOf(buildResources(policyWith('      - { host: a.example }'), xdsOptionsSchema.parse({})));
    expect(filterOf(l, 'envoy.filters.http.ext_proc').metadata_options).toEqual({ forwarding_namespaces: { untyped: ['envoy.filters.http.ext_authz'] } });
    expect(JSON.stringify(hcmOf(l).access_log)).not.toContain('x-tollgate');
  });

  it('the listener buffers as much as the scrub policy buffers, so Envoy does not answer 413 first', () => {
    const small = listenerOf(buildResources(policyWith('      - { host: a.example }'), xdsOptionsSchema.parse({})));
    const large = listenerOf(buildResources(policyWith('      - { host: a.example }', 'scrub: { bufferLimitBytes: 8388608 }'), xdsOptionsSchema.parse({})));
    expect(small.per_connection_buffer_limit_bytes).toBe(1024 * 1024);
    expect(large.per_connection_buffer_limit_bytes).toBe(8 * 1024 * 1024);
  });

  it('mTLS mode requires client certificates and serves the certificate and CA as SDS secrets on the same ADS stream', () => {
    const opts: XdsOptions = xdsOptionsSchema.parse({ downstream: { mode: 'mtls', certificateChain: pki.server.cert, privateKey: pki.server.key, trustedCa: pki.ca.cert, trustDomain: 'prod.example' } });
    const rs = buildResources(policyWith('      - { host: a.example }'), opts);
    strict(rs);
    const l = listenerOf(rs);
    const tls = l.filter_chains[0].transport_socket.typed_config as Json;
    expect(tls.require_client_certificate).toBe(true);
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0]).toEqual({ name: 'egress_server_cert', sds_config: { ads: {}, resource_api_version: 'V3' } });
    const secrets = rs.filter((r) => r.typeName.endsWith('.Secret'));
    expect(secrets.map((s) => s.name)).toEqual(['egress_server_cert', 'egress_client_ca']);
    expect((secrets[1]!.json as Json).validation_context.match_typed_subject_alt_names).toEqual([{ san_type: 'URI', matcher: { prefix: 'spiffe://prod.example/' } }]);
    expect(rs.find((r) => r.typeName.endsWith('.Listener'))!.refs?.secrets).toEqual(['egress_server_cert', 'egress_client_ca']);
    expect(hcmOf(l).forward_client_cert_details).toBe('SANITIZE_SET');
  });

  it('sidecar mode forwards the sidecar XFCC unchanged, and plaintext mode has no TLS and replaces XFCC', () => {
    const sidecar = listenerOf(buildResources(policyWith('      - { host: a.example }'), xdsOptionsSchema.parse({ downstream: { mode: 'sidecar' } })));
    expect(hcmOf(sidecar).forward_client_cert_details).toBe('ALWAYS_FORWARD_ONLY');
    const plain = listenerOf(buildResources(policyWith('      - { host: a.example }'), xdsOptionsSchema.parse({})));
    expect(plain.filter_chains[0].transport_socket).toBeUndefined();
    expect(hcmOf(plain).forward_client_cert_details).toBe('SANITIZE_SET');
  });

  it('with an Envoy token, the access-log stream carries it as gRPC metadata', () => {
    const l = listenerOf(buildResources(policyWith('      - { host: a.example }'), xdsOptionsSchema.parse({ envoyToken: 'a-long-shared-envoy-token' })));
    expect(hcmOf(l).access_log[0].typed_config.common_config.grpc_service.initial_metadata).toEqual([{ key: 'x-tollgate-token', value: 'a-long-shared-envoy-token' }]);
  });
});
