import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../src/proto/strict/index.js';
import { CLUSTER, LISTENER, paths, smallCluster } from './helpers.js';

const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

describe('strict schema check', () => {
  it('accepts a valid cluster written with snake_case or lowerCamelCase field names', () => {
    expect(checkMessage(CLUSTER, smallCluster())).toEqual([]);
    expect(
      checkMessage(CLUSTER, {
        name: 'a',
        connectTimeout: '0.25s',
        loadAssignment: { clusterName: 'a', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } } }] }] },
      }),
    ).toEqual([]);
  });

  it('rejects an unknown field and names its path', () => {
    const cluster = smallCluster();
    (cluster.load_assignment as { endpoints: { lb_endpoints: { endpoint: Record<string, unknown> }[] }[] }).endpoints[0]!.lb_endpoints[0]!.endpoint.adress = {};
    const problems = checkMessage(CLUSTER, cluster);
    expect(paths(problems)).toEqual(['load_assignment.endpoints[0].lb_endpoints[0].endpoint.adress']);
    expect(problems[0]!.message).toContain('unknown field "adress" in envoy.config.endpoint.v3.Endpoint (did you mean "address"?)');
  });

  it('reports every problem, not just the first', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), conect_timeout: '1s', type: 'STRICTDNS', dns_lookup_family: 7 });
    expect(paths(problems).sort()).toEqual(['conect_timeout', 'dns_lookup_family', 'type']);
    expect(problems.find((p) => p.path === 'type')!.message).toContain('did you mean STRICT_DNS?');
  });

  it('rejects a misspelt Any type URL at the @type key', () => {
    const problems = checkMessage(CLUSTER, {
      ...smallCluster(),
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TLS.replace('UpstreamTlsContext', 'UpstreamTLSContext'), sni: 'x' } },
    });
    expect(paths(problems)).toEqual(['transport_socket.typed_config["@type"]']);
    expect(problems[0]!.message).toContain('cannot resolve type "envoy.extensions.transport_sockets.tls.v3.UpstreamTLSContext"');
  });

  it('rejects an Any without a type URL', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), transport_socket: { name: 'tls', typed_config: { sni: 'x' } } });
    expect(paths(problems)).toEqual(['transport_socket.typed_config']);
  });

  it('re-checks an Any payload as its type and rejects its unknown fields', () => {
    const problems = checkMessage(CLUSTER, {
      ...smallCluster(),
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: { '@type': TLS, sni: 'api.stripe.com', common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ssl/ca.pem' } }, alpn: ['h2'] } },
      },
    });
    expect(paths(problems)).toEqual(['transport_socket.typed_config.common_tls_context.alpn']);
    expect(problems[0]!.message).toContain('did you mean "alpn_protocols"?');
  });

  it('rejects an empty string where validate.rules requires min_len', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), name: '' });
    expect(problems).toEqual([{ path: 'name', message: 'must not be empty ((validate.rules).string.min_len = 1)' }]);
  });

  it('rejects a missing string that validate.rules requires, at the path where it belongs', () => {
    const cluster = smallCluster();
    delete cluster.name;
    expect(paths(checkMessage(CLUSTER, cluster))).toEqual(['name']);
  });

  it('rejects two fields of the same oneof', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), cluster_type: { name: 'envoy.clusters.dynamic_forward_proxy' } });
    expect(paths(problems)).toContain('cluster_type');
    expect(problems.find((p) => p.path === 'cluster_type')!.message).toContain('"type" and "cluster_type" are both set');
  });

  it('rejects a message whose required oneof has no member set', () => {
    const problems = checkMessage('envoy.config.core.v3.SocketAddress', { address: '127.0.0.1' });
    expect(problems).toEqual([{ path: '', message: expect.stringContaining('one of port_value, named_port must be set') }]);
  });

  it('rejects a negative duration', () => {
    expect(checkMessage(CLUSTER, { ...smallCluster(), connect_timeout: '-1s' })).toEqual([
      { path: 'connect_timeout', message: expect.stringContaining('negative duration -1s') },
    ]);
  });

  it('rejects a zero duration where validate.rules says gt 0', () => {
    expect(checkMessage(CLUSTER, { ...smallCluster(), connect_timeout: '0s' })).toEqual([
      { path: 'connect_timeout', message: '0s must be > 0s ((validate.rules).duration.gt)' },
    ]);
  });

  it('rejects a malformed duration, a number where a string belongs and a string where a list belongs', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), connect_timeout: 5, alt_stat_name: 7, dns_resolvers: 'x' });
    expect(paths(problems).sort()).toEqual(['alt_stat_name', 'connect_timeout', 'dns_resolvers']);
    expect(problems.find((p) => p.path === 'connect_timeout')!.message).toContain('expected a duration string like "0.25s"');
  });

  it('enforces numeric bounds such as port_value <= 65535', () => {
    const cluster = smallCluster('a:1', 70000);
    expect(checkMessage(CLUSTER, cluster)).toEqual([
      { path: 'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value', message: '70000 must be <= 65535 ((validate.rules).uint32.lte)' },
    ]);
  });

  it('enforces enum defined_only for numeric enum values', () => {
    const problems = checkMessage(CLUSTER, { ...smallCluster(), dns_lookup_family: 42 });
    expect(problems).toEqual([{ path: 'dns_lookup_family', message: expect.stringContaining('42 is not a defined value') }]);
  });

  it('enforces message.required and repeated.min_items', () => {
    const problems = checkMessage('envoy.config.core.v3.HealthCheck', { timeout: '1s', interval: '5s', grpc_health_check: {} });
    expect(paths(problems).sort()).toEqual(['healthy_threshold', 'unhealthy_threshold']);
    expect(paths(checkMessage('envoy.config.route.v3.VirtualHost', { name: 'vh', domains: [] }))).toEqual(['domains']);
  });

  it('reads wrappers as bare values and still applies their rules', () => {
    const hc = { timeout: '1s', interval: '5s', grpc_health_check: {}, healthy_threshold: 1, unhealthy_threshold: { value: 2 } };
    expect(checkMessage('envoy.config.core.v3.HealthCheck', hc)).toEqual([
      { path: 'unhealthy_threshold', message: expect.stringContaining('expected an integer (uint32), got an object') },
    ]);
  });

  it('enforces header-name rules on route header manipulation', () => {
    const problems = checkMessage('envoy.config.route.v3.RouteConfiguration', { name: 'r', request_headers_to_remove: ['x-ok', 'bad header\n'] });
    expect(paths(problems)).toEqual(['request_headers_to_remove[1]']);
  });

  it('accepts Struct, Value and int64 as strings or numbers', () => {
    expect(
      checkMessage(CLUSTER, {
        ...smallCluster(),
        metadata: { filter_metadata: { tollgate: { policy: 'p1', weights: [1, 2.5, null, { nested: true }] } } },
        max_requests_per_connection: 100,
        dns_refresh_rate: '60s',
        per_connection_buffer_limit_bytes: 32768,
        upstream_connection_options: { tcp_keepalive: { keepalive_time: 30 } },
      }),
    ).toEqual([]);
    expect(checkMessage('envoy.config.core.v3.RuntimeUInt32', { default_value: 3, runtime_key: 'k' })).toEqual([]);
    expect(checkMessage('envoy.type.v3.Int64Range', { start: '-9223372036854775808', end: 5 })).toEqual([]);
    expect(paths(checkMessage('envoy.type.v3.Int64Range', { start: '9223372036854775808', end: 1.5 }))).toEqual(['start', 'end']);
  });

  it('checks the typed payload of a TypedStruct against its type_url', () => {
    const listener = {
      name: 'l',
      address: { socket_address: { address: '0.0.0.0', port_value: 1 } },
      listener_filters: [
        {
          name: 'tls_inspector',
          typed_config: {
            '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
            type_url: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
            value: { enable_ja3_fingerprinting: true, bogus: 1 },
          },
        },
      ],
    };
    expect(paths(checkMessage(LISTENER, listener))).toEqual(['listener_filters[0].typed_config.value.bogus']);
  });

  it('loads the protos of an Any type on demand', () => {
    const listener = {
      name: 'l',
      address: { socket_address: { address: '0.0.0.0', port_value: 1 } },
      listener_filters: [
        { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } },
      ],
    };
    expect(checkMessage(LISTENER, listener)).toEqual([]);
  });

  it('can also flag deprecated fields when asked', () => {
    const cluster = { ...smallCluster(), http2_protocol_options: {} };
    expect(checkMessage(CLUSTER, cluster)).toEqual([]);
    expect(paths(checkMessage(CLUSTER, cluster, { rejectDeprecated: true }))).toEqual(['http2_protocol_options']);
  });

  it('treats undefined and null like an absent field, as serialization would', () => {
    expect(checkMessage(CLUSTER, { ...smallCluster(), transport_socket: undefined, alt_stat_name: null })).toEqual([]);
    expect(paths(checkMessage(CLUSTER, { ...smallCluster(), name: undefined }))).toEqual(['name']);
  });

  it('reports an unknown root type instead of throwing', () => {
    expect(checkMessage('envoy.config.cluster.v3.Clustr', {})).toEqual([{ path: '', message: 'unknown message type envoy.config.cluster.v3.Clustr' }]);
  });
});
