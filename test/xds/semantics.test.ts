import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { envoyProblems, validateCommand } from '../../src/cli/validate.js';
import { loadPolicyText } from '../../src/policy/load.js';
import type { ResourceJson } from '../../src/xds/resources/build.js';
import { buildResources } from '../../src/xds/resources/build.js';
import { xdsOptionsSchema } from '../../src/xds/resources/options.js';
import { checkEnvoySemantics, semanticProblemToProblem, type SemanticProblem } from '../../src/xds/semantics/index.js';
import { TEST_POLICY } from '../support/policies.js';
import { rng } from '../support/rng.js';
import { randomPolicy } from './fixtures/random-policy.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const T = {
  cluster: ['type.googleapis.com/envoy.config.cluster.v3.Cluster', 'envoy.config.cluster.v3.Cluster'],
  route: ['type.googleapis.com/envoy.config.route.v3.RouteConfiguration', 'envoy.config.route.v3.RouteConfiguration'],
  listener: ['type.googleapis.com/envoy.config.listener.v3.Listener', 'envoy.config.listener.v3.Listener'],
  secret: ['type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', 'envoy.extensions.transport_sockets.tls.v3.Secret'],
} as const;

function resource(kind: keyof typeof T, json: Json): ResourceJson {
  return { typeUrl: T[kind][0], typeName: T[kind][1], name: json.name as string, json };
}

const H2 = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } };
const DNS_CACHE = { name: 'egress_dns_cache', dns_lookup_family: 'V4_PREFERRED', max_hosts: 4096 };
const one = (cluster: string, address: string, port: number) => ({ cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }] });
const ADS = { ads: {}, resource_api_version: 'V3' };

/** A hand-built egress snapshot that breaks no rule: every fixture below changes exactly one thing in a copy. */
function baseSnapshot(): Json {
  return {
    tollgate: { name: 'tollgate', type: 'STATIC', connect_timeout: '1s', load_assignment: one('tollgate', '127.0.0.1', 7070), typed_extension_protocol_options: structuredClone(H2) },
    origin: {
      name: 'out_https|api.example.com|443',
      type: 'LOGICAL_DNS',
      connect_timeout: '5s',
      load_assignment: one('out_https|api.example.com|443', 'api.example.com', 443),
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'api.example.com',
          common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.example.com' } }] } },
        },
      },
    },
    dfp: {
      name: 'egress_dfp_tls',
      connect_timeout: '5s',
      lb_policy: 'CLUSTER_PROVIDED',
      cluster_type: { name: 'envoy.clusters.dynamic_forward_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig', dns_cache_config: structuredClone(DNS_CACHE) } },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true },
          explicit_http_config: { http_protocol_options: {} },
        },
      },
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' } } } } },
    },
    routes: {
      name: 'egress_http',
      virtual_hosts: [
        { name: 'dest|api.example.com', domains: ['api.example.com', 'api.example.com:443'], routes: [{ match: { prefix: '/' }, route: { cluster: 'out_https|api.example.com|443' } }] },
        { name: 'dest|*.example.org', domains: ['*.example.org', '*.example.org:443'], routes: [{ match: { prefix: '/' }, route: { cluster: 'egress_dfp_tls' } }] },
        { name: 'default_deny', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 403 } }] },
      ],
      request_headers_to_remove: ['x-tollgate-decision-id', 'x-tollgate-identity'],
    },
    listener: {
      name: 'egress_http',
      address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'egress_http',
                rds: { config_source: ADS, route_config_name: 'egress_http' },
                http_filters: [
                  { name: 'envoy.filters.http.ext_authz', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', grpc_service: { envoy_grpc: { cluster_name: 'tollgate' } } } },
                  { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', grpc_service: { envoy_grpc: { cluster_name: 'tollgate' } } } },
                  { name: 'envoy.filters.http.dynamic_forward_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig', dns_cache_config: structuredClone(DNS_CACHE) } },
                  { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                ],
                access_log: [
                  {
                    name: 'envoy.access_loggers.http_grpc',
                    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig', common_config: { log_name: 'tollgate', transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: 'tollgate' } } } },
                  },
                ],
              },
            },
          ],
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
              require_client_certificate: true,
              common_tls_context: {
                tls_certificate_sds_secret_configs: [{ name: 'gateway_cert', sds_config: ADS }],
                validation_context_sds_secret_config: { name: 'workload_ca', sds_config: ADS },
              },
            },
          },
        },
      ],
    },
    cert: { name: 'gateway_cert', tls_certificate: { certificate_chain: { filename: '/etc/tollgate/gw.crt' }, private_key: { filename: '/etc/tollgate/gw.key' } } },
    ca: { name: 'workload_ca', validation_context: { trusted_ca: { filename: '/etc/tollgate/workloads-ca.crt' } } },
  };
}

function resources(s: Json, extra: ResourceJson[] = []): ResourceJson[] {
  return [
    resource('secret', s.cert),
    resource('secret', s.ca),
    resource('cluster', s.tollgate),
    resource('cluster', s.origin),
    resource('cluster', s.dfp),
    ...extra,
    resource('route', s.routes),
    resource('listener', s.listener),
  ];
}

/** Checks a base snapshot after `change`; the change must produce exactly one problem, which is returned. */
function onlyProblem(change: (s: Json) => unknown): SemanticProblem {
  const s = baseSnapshot();
  const returned = change(s);
  const extra = Array.isArray(returned) ? (returned as ResourceJson[]) : [];
  const problems = checkEnvoySemantics(resources(s, extra));
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1);
  return problems[0]!;
}

const hcm = (s: Json): Json => s.listener.filter_chains[0].filters[0].typed_config;
const downstreamTls = (s: Json): Json => s.listener.filter_chains[0].transport_socket.typed_config;

describe('Envoy config semantics: the hand-built snapshot', () => {
  it('a snapshot that follows every rule has no semantic problems', () => {
    expect(checkEnvoySemantics(resources(baseSnapshot()))).toEqual([]);
  });
});

describe('Envoy config semantics: RouteConfiguration (config_impl.cc)', () => {
  it('a domain in two virtual hosts is refused with Envoy\'s "Only unique values for domains" message', () => {
    const p = onlyProblem((s) => s.routes.virtual_hosts[1].domains.push('api.example.com:443'));
    expect(p).toMatchObject({ rule: 'route.unique-domains', origin: 'envoy-rejects', resource: { type: 'RouteConfiguration', name: 'egress_http' }, path: 'virtual_hosts[1].domains[2]' });
    expect(p.message).toBe('Only unique values for domains are permitted. Duplicate entry of domain api.example.com:443 in route egress_http');
    expect(p.source).toEqual({ file: 'source/common/router/config_impl.cc', fn: 'RouteMatcher::RouteMatcher' });
  });

  it('domains differing only in case are duplicates, because Envoy lower-cases them first', () => {
    const p = onlyProblem((s) => s.routes.virtual_hosts[1].domains.push('API.Example.com'));
    expect(p.message).toContain('Duplicate entry of domain api.example.com in route egress_http');
  });

  it('the same suffix wildcard twice is a duplicate', () => {
    const p = onlyProblem((s) => s.routes.virtual_hosts[0].domains.push('*.example.org'));
    expect(p).toMatchObject({ rule: 'route.unique-domains', path: 'virtual_hosts[1].domains[0]', note: 'the first is at virtual_hosts[0].domains[2]; Envoy NACKs the whole RouteConfiguration' });
  });

  it('a second "*" catch-all is refused', () => {
    const p = onlyProblem((s) => s.routes.virtual_hosts[0].domains.push('*'));
    expect(p).toMatchObject({ rule: 'route.single-catch-all', origin: 'envoy-rejects', message: 'Only a single wildcard domain is permitted in route egress_http' });
  });

  it('a "*" inside a domain is reported as a Tollgate rule: Envoy would match it literally', () => {
    const p = onlyProblem((s) => s.routes.virtual_hosts[0].domains.push('api.*.example.com'));
    expect(p).toMatchObject({ rule: 'route.domain-wildcard-shape', origin: 'tollgate', path: 'virtual_hosts[0].domains[2]' });
  });

  it('two virtual hosts with one name are reported: Envoy keys RDS virtual hosts by name', () => {
    const p = onlyProblem((s) => (s.routes.virtual_hosts[1].name = 'dest|api.example.com'));
    expect(p).toMatchObject({ rule: 'route.unique-virtual-host-names', origin: 'envoy-runtime', path: 'virtual_hosts[1].name' });
    expect(p.source.fn).toBe('RouteConfigUpdateReceiverImpl::initializeRdsVhosts');
  });

  it('a route to a cluster missing from the snapshot is reported with Envoy\'s "unknown cluster" message', () => {
    const p = onlyProblem((s) => (s.routes.virtual_hosts[0].routes[0].route.cluster = 'out_https|ghost.example.com|443'));
    expect(p).toMatchObject({ rule: 'route.cluster-exists', origin: 'envoy-runtime', path: 'virtual_hosts[0].routes[0].route.cluster', message: "route: unknown cluster 'out_https|ghost.example.com|443'" });
  });

  it('with validate_clusters on, the unknown cluster makes Envoy reject the route configuration', () => {
    const p = onlyProblem((s) => {
      s.routes.validate_clusters = true;
      s.routes.virtual_hosts[0].routes[0].route.cluster = 'nowhere';
    });
    expect(p).toMatchObject({ rule: 'route.cluster-exists', origin: 'envoy-rejects' });
  });

  it('removing host or a pseudo-header is refused, at every level', () => {
    expect(onlyProblem((s) => s.routes.request_headers_to_remove.push('Host'))).toMatchObject({ rule: 'route.removable-headers', path: 'request_headers_to_remove[2]', message: ':-prefixed or host headers may not be removed' });
    expect(onlyProblem((s) => (s.routes.virtual_hosts[0].routes[0].request_headers_to_remove = [':path']))).toMatchObject({ path: 'virtual_hosts[0].routes[0].request_headers_to_remove[0]' });
  });
});

describe('Envoy config semantics: Listener and HttpConnectionManager (http_connection_manager/config.cc)', () => {
  it('an HTTP filter without typed_config is refused', () => {
    const p = onlyProblem((s) => delete hcm(s).http_filters[1].typed_config);
    expect(p).toMatchObject({ rule: 'hcm.filter-typed-config', resource: { type: 'Listener', name: 'egress_http' }, message: "Didn't find a registered implementation for 'envoy.filters.http.ext_proc' with type URL: ''" });
  });

  it('a router that is not last is refused with the terminal-filter message', () => {
    const p = onlyProblem((s) => {
      const filters = hcm(s).http_filters;
      filters.splice(2, 0, filters.pop());
    });
    expect(p.message).toBe('Error: terminal filter named envoy.filters.http.router of type envoy.filters.http.router must be the last filter in a http filter chain.');
  });

  it('a chain without a router is refused: its last filter is not terminal', () => {
    const p = onlyProblem((s) => hcm(s).http_filters.pop());
    expect(p).toMatchObject({ rule: 'hcm.router-last', message: 'Error: non-terminal filter named envoy.filters.http.dynamic_forward_proxy of type envoy.filters.http.dynamic_forward_proxy is the last filter in a http filter chain.' });
  });

  it('routes to a dynamic forward proxy cluster without the DFP filter are reported', () => {
    const p = onlyProblem((s) => hcm(s).http_filters.splice(2, 1));
    expect(p).toMatchObject({ rule: 'hcm.dfp-filter-required', origin: 'envoy-runtime', path: 'filter_chains[0].filters[0].typed_config.http_filters' });
    expect(p.message).toContain("'egress_dfp_tls'");
  });

  it('a DFP filter resolving into another DNS cache than the cluster reads is reported', () => {
    const p = onlyProblem((s) => (hcm(s).http_filters[2].typed_config.dns_cache_config.name = 'other_cache'));
    expect(p).toMatchObject({ rule: 'hcm.dfp-shared-dns-cache', origin: 'envoy-runtime' });
  });

  it('one DNS cache name with different settings is refused where Envoy meets it second (the listener)', () => {
    const p = onlyProblem((s) => (hcm(s).http_filters[2].typed_config.dns_cache_config.max_hosts = 10));
    expect(p).toMatchObject({ rule: 'dfp.dns-cache-settings', origin: 'envoy-rejects', resource: { type: 'Listener' }, message: "config specified DNS cache 'egress_dns_cache' with different settings" });
    expect(p.source.file).toBe('source/extensions/common/dynamic_forward_proxy/dns_cache_manager_impl.cc');
  });

  it('ext_authz pointing at a cluster missing from the snapshot is reported', () => {
    const p = onlyProblem((s) => (hcm(s).http_filters[0].typed_config.grpc_service.envoy_grpc.cluster_name = 'tollgate_elsewhere'));
    expect(p).toMatchObject({ rule: 'grpc.cluster-exists', path: 'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.grpc_service.envoy_grpc.cluster_name' });
    expect(p.message).toContain('Cluster not available');
  });

  it('an access log gRPC service on a cluster that is not HTTP/2 is reported', () => {
    const p = onlyProblem((s) => {
      hcm(s).access_log[0].typed_config.common_config.grpc_service.envoy_grpc.cluster_name = 'als_http1';
      return [resource('cluster', { name: 'als_http1', type: 'STATIC', load_assignment: one('als_http1', '127.0.0.1', 7072) })];
    });
    expect(p).toMatchObject({ rule: 'grpc.cluster-http2', path: 'filter_chains[0].filters[0].typed_config.access_log[0].typed_config.common_config.grpc_service.envoy_grpc.cluster_name' });
  });

  it('an RDS route_config_name missing from the snapshot is reported', () => {
    const p = onlyProblem((s) => (hcm(s).rds.route_config_name = 'egress_v2'));
    expect(p).toMatchObject({ rule: 'hcm.rds-route-config-exists', origin: 'envoy-runtime', message: "RDS route_config_name 'egress_v2' is not in the snapshot" });
  });
});

describe('Envoy config semantics: downstream TLS and SDS secrets', () => {
  it('require_client_certificate without a validation context is reported: Envoy would not ask for client certificates', () => {
    const p = onlyProblem((s) => delete downstreamTls(s).common_tls_context.validation_context_sds_secret_config);
    expect(p).toMatchObject({ rule: 'tls.client-certificate-ca', origin: 'envoy-runtime', path: 'filter_chains[0].transport_socket.typed_config.require_client_certificate' });
    expect(p.source.fn).toBe('DefaultCertValidator::addClientValidationContext');
  });

  it('an SDS certificate missing from the snapshot is reported', () => {
    const p = onlyProblem((s) => (downstreamTls(s).common_tls_context.tls_certificate_sds_secret_configs[0].name = 'gateway_cert_v2'));
    expect(p).toMatchObject({ rule: 'tls.sds-secret-exists', origin: 'envoy-runtime', message: "SDS secret 'gateway_cert_v2' is not in the snapshot" });
  });

  it('an SDS reference without sds_config names a static secret, and Envoy refuses the unknown one', () => {
    const p = onlyProblem((s) => delete downstreamTls(s).common_tls_context.tls_certificate_sds_secret_configs[0].sds_config);
    expect(p).toMatchObject({ rule: 'tls.sds-secret-exists', origin: 'envoy-rejects', message: 'Unknown static secret: gateway_cert' });
  });

  it('a validation-context secret used as the certificate is reported as the wrong kind', () => {
    const p = onlyProblem((s) => (downstreamTls(s).common_tls_context.tls_certificate_sds_secret_configs[0].name = 'workload_ca'));
    expect(p).toMatchObject({ rule: 'tls.sds-secret-kind', origin: 'tollgate', message: "secret 'workload_ca' holds a validation_context, not a tls_certificate" });
  });

  it('a server TLS context without any certificate is refused', () => {
    const p = onlyProblem((s) => delete downstreamTls(s).common_tls_context.tls_certificate_sds_secret_configs);
    expect(p).toMatchObject({ rule: 'tls.server-certificate', origin: 'envoy-rejects', message: 'No TLS certificates found for server context' });
  });
});

describe('Envoy config semantics: clusters (cluster factories)', () => {
  it('two clusters with one name are refused with the CDS message', () => {
    const p = onlyProblem((s) => [resource('cluster', structuredClone(s.origin))]);
    expect(p).toMatchObject({ rule: 'resource.unique-names', origin: 'envoy-rejects', message: 'duplicate cluster out_https|api.example.com|443 found' });
  });

  it('a LOGICAL_DNS cluster with two endpoints is refused', () => {
    const p = onlyProblem((s) => s.origin.load_assignment.endpoints[0].lb_endpoints.push(structuredClone(s.origin.load_assignment.endpoints[0].lb_endpoints[0])));
    expect(p).toMatchObject({ rule: 'cluster.logical-dns-single-endpoint', message: 'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint' });
  });

  it('a STATIC cluster with a host name for an endpoint is refused', () => {
    const p = onlyProblem((s) => (s.tollgate.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'tollgate.internal'));
    expect(p).toMatchObject({ rule: 'cluster.static-ip-endpoints', resource: { type: 'Cluster', name: 'tollgate' }, message: 'malformed IP address: tollgate.internal' });
  });

  it('a dynamic forward proxy cluster without lb_policy CLUSTER_PROVIDED is refused', () => {
    const p = onlyProblem((s) => delete s.dfp.lb_policy);
    expect(p).toMatchObject({ rule: 'cluster.dfp-lb-policy', message: "cluster manager: cluster provided LB not specified but cluster 'egress_dfp_tls' provided one. Check cluster documentation." });
  });

  it('a dynamic forward proxy cluster without auto_san_validation is refused', () => {
    const p = onlyProblem((s) => (s.dfp.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].upstream_http_protocol_options.auto_san_validation = false));
    expect(p).toMatchObject({ rule: 'cluster.dfp-auto-sni-san', message: 'dynamic_forward_proxy cluster must have auto_sni and auto_san_validation true unless allow_insecure_cluster_options is set.' });
  });

  it('allow_insecure_cluster_options lifts the auto_sni rule, and a DFP cluster without HTTP options gets Envoy\'s defaults', () => {
    const s = baseSnapshot();
    s.dfp.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].upstream_http_protocol_options = {};
    s.dfp.cluster_type.typed_config.allow_insecure_cluster_options = true;
    expect(checkEnvoySemantics(resources(s))).toEqual([]);
    const t = baseSnapshot();
    delete t.dfp.typed_extension_protocol_options;
    expect(checkEnvoySemantics(resources(t))).toEqual([]);
  });

  it('an upstream TLS context without a trusted CA is reported as a Tollgate rule', () => {
    const p = onlyProblem((s) => delete s.origin.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca);
    expect(p).toMatchObject({ rule: 'cluster.upstream-tls-verified', origin: 'tollgate', message: 'the UpstreamTlsContext has no trusted CA (trusted_ca or system_root_certs)' });
  });

  it('an upstream TLS context without a SAN matcher is reported as a Tollgate rule', () => {
    const p = onlyProblem((s) => delete s.origin.transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names);
    expect(p.message).toBe('the UpstreamTlsContext has no SAN matcher (match_typed_subject_alt_names)');
  });
});

const defaults = xdsOptionsSchema.parse({});
// Placeholders with the PEM markers the options schema asks for; nothing parses them.
const FAKE_CERT = '-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n';
const FAKE_KEY = '-----BEGIN PRIVATE KEY-----\nTUlJQg==\n-----END PRIVATE KEY-----\n';
const MTLS = xdsOptionsSchema.parse({ downstream: { mode: 'mtls', certificateChain: FAKE_CERT, privateKey: FAKE_KEY, trustedCa: FAKE_CERT, trustDomain: 'prod.example' } });

/** Option sets the property test cycles through: the ways a gateway is configured. */
const OPTION_SETS = [
  defaults,
  MTLS,
  xdsOptionsSchema.parse({ downstream: { mode: 'sidecar' }, accessLog: false }),
  xdsOptionsSchema.parse({ extProc: false, failureModeAllow: true, tollgateAddress: 'tollgate.internal:7070' }),
];

function build(text: string, opts = defaults): ResourceJson[] {
  const loaded = loadPolicyText(text);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return buildResources(loaded.policy, opts);
}

function readable(problems: SemanticProblem[]): string[] {
  return problems.map(semanticProblemToProblem).map((p) => `${p.path}: ${p.message}`);
}

/** Random policies whose rules share a few hosts, so one host meets several schemes, ports and modes. */
function collidingPolicy(seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const hosts = ['api.example.com', 'files.example.com', '*.svc.example.org', '10.0.0.7', '2001:db8::7', 'h.example.net'];
  const blocks: string[] = [];
  for (let b = 0; b < 1 + Math.floor(r() * 3); b++) {
    const rules: string[] = [];
    for (let i = 0; i < 1 + Math.floor(r() * 8); i++) {
      const parts = [`host: "${pick(hosts)}"`];
      if (r() < 0.6) parts.push(`scheme: ${pick(['http', 'https'])}`);
      if (r() < 0.6) parts.push(`port: ${pick([80, 443, 8443, 8080, '"*"'])}`);
      if (r() < 0.4) parts.push(`methods: [${pick(['GET', 'GET, POST', 'CONNECT', 'PUT'])}]`);
      if (r() < 0.3) parts.push('paths: ["/v1/**"]');
      if (r() < 0.2) parts.push('mode: report');
      rules.push(`      - { ${parts.join(', ')} }`);
    }
    blocks.push(`  - identity: "*"\n    allow:\n${rules.join('\n')}`);
  }
  const mode = r() < 0.2 ? 'report' : 'enforce';
  return `version: 1\ndefaults: { mode: ${mode} }\negress:\n${blocks.join('\n')}\n`;
}

describe('Envoy config semantics: what Tollgate builds from policies', () => {
  it('300 random policies with shared hosts build resources with no semantic problems, under every kind of gateway options (fixed seed)', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const text = collidingPolicy(seed);
      const problems = checkEnvoySemantics(build(text, OPTION_SETS[seed % OPTION_SETS.length]));
      if (problems.length > 0) failures.push(`seed ${seed}:\n${text}${readable(problems).join('\n')}`);
    }
    expect(failures.slice(0, 3).join('\n\n'), `${failures.length} of 300 policies`).toBe('');
  });

  it('the existing random-policy generator, the example policy and the test policy build without semantic problems', () => {
    const texts = [readFileSync('examples/policy.yaml', 'utf8'), TEST_POLICY, ...Array.from({ length: 100 }, (_, i) => randomPolicy(i + 1))];
    for (const text of texts) expect(readable(checkEnvoySemantics(build(text)))).toEqual([]);
  });

  it('the same host and port allowed under http and under https builds a route configuration Envoy accepts', () => {
    const text = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { host: api.example.com, scheme: http, port: 8080 }\n      - { host: api.example.com, scheme: https, port: 8080 }\n';
    expect(readable(checkEnvoySemantics(build(text)))).toEqual([]);
  });

  it('with downstream mTLS, the listener\'s SDS secrets are in the snapshot, and a snapshot without them is caught', () => {
    const res = build(TEST_POLICY, MTLS);
    expect(res.some((r) => r.typeName === T.secret[1])).toBe(true);
    expect(readable(checkEnvoySemantics(res))).toEqual([]);
    const withoutSecrets = checkEnvoySemantics(res.filter((r) => r.typeName !== T.secret[1]));
    expect(withoutSecrets.map((p) => p.rule)).toEqual(['tls.sds-secret-exists', 'tls.sds-secret-exists']);
  });

  it('a rule with port "*" builds resources Envoy accepts', () => {
    const text = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { host: api.example.com, port: "*" }\n      - { host: "*.example.org", port: "*", scheme: http }\n      - { host: api.example.com, port: 443 }\n';
    expect(readable(checkEnvoySemantics(build(text)))).toEqual([]);
  });
});

describe('tollgate validate runs the semantic checker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-semantics-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { host: api.example.com }\n');
  afterEach(() => vi.restoreAllMocks());

  it('validate exits 1 and prints the duplicate-domain problem as "path: message" when the built resources would be NACKed', async () => {
    const duplicate = (): ResourceJson[] => {
      const s = baseSnapshot();
      s.routes.virtual_hosts[1].domains.push('api.example.com:443');
      return resources(s);
    };
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    expect(await validateCommand([file], duplicate)).toBe(1);
    expect(errors.join('\n')).toContain(
      'xds.RouteConfiguration[egress_http].virtual_hosts[1].domains[2]: Only unique values for domains are permitted. Duplicate entry of domain api.example.com:443 in route egress_http (Envoy rejects this: the first is at virtual_hosts[0].domains[1]; Envoy NACKs the whole RouteConfiguration; source/common/router/config_impl.cc RouteMatcher::RouteMatcher)',
    );
  });

  it('validate reports a builder that throws as a problem instead of crashing', async () => {
    const loaded = loadPolicyText(readFileSync(file, 'utf8'));
    if (!loaded.ok) throw new Error('fixture policy is invalid');
    expect(
      envoyProblems(loaded.policy, () => {
        throw new Error('boom');
      }),
    ).toEqual([{ path: 'xds', message: 'cannot build the Envoy resources: boom' }]);
  });

  it('validate still accepts a policy whose resources Envoy would load', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    expect(await validateCommand([file])).toBe(0);
    expect(out.join('\n')).toMatch(/valid \(1 rules/);
  });
});

describe('Envoy config semantics: VHDS (vhds.cc, watch_map.cc, route_config_update_receiver_impl.cc)', () => {
  const vh = (json: Json): ResourceJson => ({ typeUrl: 'type.googleapis.com/envoy.config.route.v3.VirtualHost', typeName: 'envoy.config.route.v3.VirtualHost', name: json.name as string, json });
  /** The base snapshot with its destination virtual hosts moved to VHDS, as Tollgate pushes to Envoys on delta. */
  function vhdsSnapshot(s: Json): ResourceJson[] {
    const [api, wild] = s.routes.virtual_hosts.splice(0, 2);
    s.routes.vhds = { config_source: { ads: {}, resource_api_version: 'V3' } };
    return [vh({ ...api, name: 'egress_http/api.example.com' }), vh({ ...wild, name: 'egress_http/*.example.org' })];
  }

  it('a route configuration with vhds and its virtual hosts in its namespace has no problems', () => {
    const s = baseSnapshot();
    expect(checkEnvoySemantics(resources(s, vhdsSnapshot(s)))).toEqual([]);
  });

  it('vhds over a SotW config source is refused with Envoy\'s message', () => {
    const p = onlyProblem((s) => {
      const extra = vhdsSnapshot(s);
      s.routes.vhds.config_source = { api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'tollgate' } }] } };
      return extra;
    });
    expect(p).toMatchObject({ rule: 'vhds.delta-config-source', origin: 'envoy-rejects', path: 'vhds.config_source', source: { file: 'source/common/router/vhds.cc', fn: 'VhdsSubscription::createVhdsSubscription' } });
  });

  it('a VirtualHost outside the namespace of a vhds route configuration reaches no watch', () => {
    const p = onlyProblem((s) => [...vhdsSnapshot(s), vh({ name: 'other_routes/x.example', domains: ['x.example'], routes: [] })]);
    expect(p).toMatchObject({ rule: 'vhds.namespace', origin: 'envoy-runtime', resource: { type: 'VirtualHost', name: 'other_routes/x.example' } });
  });

  it('a VirtualHost whose name differs from its resource name could never be removed', () => {
    const p = onlyProblem((s) => {
      const extra = vhdsSnapshot(s);
      extra.push({ ...vh({ name: 'api.example.net', domains: ['api.example.net'], routes: [] }), name: 'egress_http/api.example.net' });
      return extra;
    });
    expect(p).toMatchObject({ rule: 'vhds.name-is-resource-name', path: 'name', source: { fn: 'RouteConfigUpdateReceiverImpl::removeVhosts' } });
  });

  it('a domain in a VHDS virtual host and an RDS one is a duplicate in the table Envoy builds from both', () => {
    const p = onlyProblem((s) => {
      const extra = vhdsSnapshot(s);
      s.routes.virtual_hosts.unshift({ name: 'rds_api', domains: ['api.example.com'], routes: [{ match: { prefix: '/' }, direct_response: { status: 403 } }] });
      return extra;
    });
    expect(p).toMatchObject({ rule: 'route.unique-domains', origin: 'envoy-rejects', resource: { type: 'VirtualHost', name: 'egress_http/api.example.com' }, path: 'domains[0]' });
  });

  it('a VHDS route naming a missing cluster is found in the VirtualHost', () => {
    const p = onlyProblem((s) => {
      const extra = vhdsSnapshot(s);
      (extra[0]!.json as Json).routes[0].route.cluster = 'out_https|gone.example|443';
      return extra;
    });
    expect(p).toMatchObject({ rule: 'route.cluster-exists', resource: { type: 'VirtualHost', name: 'egress_http/api.example.com' }, path: 'routes[0].route.cluster' });
  });
});
