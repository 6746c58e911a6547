import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../src/proto/strict/index.js';
import { CLUSTER, paths, ROUTE_CONFIGURATION } from './helpers.js';

const tlsCluster = {
  name: 'api.stripe.com:443',
  type: 'LOGICAL_DNS',
  dns_lookup_family: 'V4_PREFERRED',
  connect_timeout: '5s',
  load_assignment: {
    cluster_name: 'api.stripe.com:443',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'api.stripe.com', port_value: 443 } } } }] }],
  },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'api.stripe.com',
      common_tls_context: {
        validation_context: {
          trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.stripe.com' } }],
        },
      },
    },
  },
};

const dynamicForwardProxyCluster = {
  name: 'dynamic_forward_proxy',
  lb_policy: 'CLUSTER_PROVIDED',
  connect_timeout: '5s',
  cluster_type: {
    name: 'envoy.clusters.dynamic_forward_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig',
      dns_cache_config: { name: 'tollgate_dns', dns_lookup_family: 'V4_ONLY', dns_refresh_rate: '60s' },
    },
  },
};

const routes = {
  name: 'egress_routes',
  virtual_hosts: [
    {
      name: 'api.stripe.com',
      domains: ['api.stripe.com', 'api.stripe.com:80'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'api.stripe.com:443', timeout: '30s', auto_host_rewrite: true } }],
      typed_per_filter_config: {
        'envoy.filters.http.ext_authz': {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
          check_settings: { context_extensions: { destination: 'stripe' } },
        },
      },
    },
    {
      name: 'default_deny',
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, direct_response: { status: 403, body: { inline_string: 'denied by tollgate\n' } } }],
    },
  ],
};

describe('resources Tollgate emits', () => {
  it('passes a TLS-originating LOGICAL_DNS cluster with SNI and SAN matching', () => {
    expect(checkMessage(CLUSTER, tlsCluster)).toEqual([]);
  });

  it('passes a dynamic forward proxy cluster', () => {
    expect(checkMessage(CLUSTER, dynamicForwardProxyCluster)).toEqual([]);
  });

  it('passes a route configuration with a per-destination virtual host and a 403 catch-all', () => {
    expect(checkMessage(ROUTE_CONFIGURATION, routes)).toEqual([]);
  });

  it('fails a route that both forwards and answers directly (action oneof)', () => {
    const bad = structuredClone(routes);
    (bad.virtual_hosts[1]!.routes[0] as Record<string, unknown>).route = { cluster: 'x' };
    expect(paths(checkMessage(ROUTE_CONFIGURATION, bad))).toEqual(['virtual_hosts[1].routes[0].route']);
  });

  it('fails a direct response with an out-of-range status and a SAN matcher with an unknown type', () => {
    const badRoutes = structuredClone(routes);
    (badRoutes.virtual_hosts[1]!.routes[0] as { direct_response: { status: number } }).direct_response.status = 99;
    expect(checkMessage(ROUTE_CONFIGURATION, badRoutes)).toEqual([
      { path: 'virtual_hosts[1].routes[0].direct_response.status', message: '99 must be >= 200 and < 600 ((validate.rules).uint32.gte/lt)' },
    ]);
    const badTls = structuredClone(tlsCluster);
    badTls.transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0]!.san_type = 'SAN_TYPE_UNSPECIFIED';
    expect(paths(checkMessage(CLUSTER, badTls))).toEqual([
      'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type',
    ]);
  });

  it('passes a secret (SDS) with an inline trusted CA', () => {
    expect(
      checkMessage('envoy.extensions.transport_sockets.tls.v3.Secret', {
        name: 'system_trust',
        validation_context: { trusted_ca: { inline_string: '-----BEGIN CERTIFICATE-----\n...' } },
      }),
    ).toEqual([]);
  });
});
