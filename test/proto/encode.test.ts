import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PROTO_INCLUDE_DIRS } from '../../src/proto/paths.js';
import { decodeAny, decodeMessage, encodeMessage, StrictCheckError, toAny } from '../../src/proto/strict/index.js';
import { CLUSTER, smallCluster } from './helpers.js';

const CLUSTER_URL = `type.googleapis.com/${CLUSTER}`;

const cluster = {
  ...smallCluster(),
  connect_timeout: '0.250s',
  dns_lookup_family: 'V4_ONLY',
  per_connection_buffer_limit_bytes: 32768,
  metadata: { filter_metadata: { tollgate: { policy: 'p1', weights: [1, 2.5, null, { nested: true }] } } },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
    },
  },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'api.stripe.com',
      common_tls_context: { alpn_protocols: ['h2', 'http/1.1'], validation_context: { trusted_ca: { filename: '/etc/ssl/certs/ca.pem' } } },
    },
  },
};

type Decoded = Record<string, unknown>;

function independentRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of PROTO_INCLUDE_DIRS) {
      const candidate = `${dir}/${target}`;
      try {
        protobuf.util.fs.statSync(candidate);
        return candidate;
      } catch {
        // try the next include dir
      }
    }
    return target;
  };
  root.loadSync(['envoy/config/cluster/v3/cluster.proto', 'envoy/extensions/transport_sockets/tls/v3/tls.proto'], { keepCase: true });
  return root;
}

describe('encoding canonical JSON to protobuf', () => {
  it('round-trips a cluster through encode and decode', () => {
    const any = toAny({ '@type': CLUSTER_URL, ...cluster });
    expect(any.type_url).toBe(CLUSTER_URL);
    expect(decodeAny(any)).toEqual({ '@type': CLUSTER_URL, ...cluster });
    expect(encodeMessage(CLUSTER, decodeMessage(CLUSTER, any.value))).toEqual(any.value);
  });

  it('writes bytes that an independently loaded protobufjs root reads the same way', () => {
    const root = independentRoot();
    const Cluster = root.lookupType(CLUSTER);
    const decoded = Cluster.toObject(Cluster.decode(encodeMessage(CLUSTER, cluster)), { longs: String, enums: String }) as Decoded;
    expect(decoded.connect_timeout).toEqual({ seconds: '0', nanos: 250_000_000 });
    expect(decoded.type).toBe('STRICT_DNS');
    expect(decoded.per_connection_buffer_limit_bytes).toEqual({ value: 32768 });
    const tlsAny = (decoded.transport_socket as Decoded).typed_config as { type_url: string; value: Uint8Array };
    expect(tlsAny.type_url).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    const Tls = root.lookupType('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    expect(Tls.toObject(Tls.decode(tlsAny.value))).toMatchObject({ sni: 'api.stripe.com', common_tls_context: { alpn_protocols: ['h2', 'http/1.1'] } });
  });

  it('keeps 64-bit integers exact', () => {
    const range = { start: '-9223372036854775808', end: '9223372036854775807' };
    expect(decodeMessage('envoy.type.v3.Int64Range', encodeMessage('envoy.type.v3.Int64Range', range))).toEqual(range);
  });

  it('leaves proto3 defaults off the wire but keeps a oneof member set to its default', () => {
    const bytes = encodeMessage('envoy.config.core.v3.SocketAddress', { protocol: 'TCP', address: '10.0.0.1', port_value: 0 });
    expect(bytes).toEqual(Buffer.concat([Buffer.from([0x12, 8]), Buffer.from('10.0.0.1'), Buffer.from([0x18, 0x00])]));
  });

  it('wraps well-known types in an Any under "value"', () => {
    const any = toAny({ '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' });
    expect(decodeAny(any)).toEqual({ '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.500s' });
  });

  it('refuses to encode JSON that fails the check, listing every problem', () => {
    let error: unknown;
    try {
      toAny({ '@type': CLUSTER_URL, ...cluster, name: '', lb_polcy: 'RANDOM' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StrictCheckError);
    expect((error as StrictCheckError).problems.map((p) => p.path).sort()).toEqual(['lb_polcy', 'name']);
    expect((error as Error).message).toContain('name: must not be empty');
    expect(() => encodeMessage(CLUSTER, { ...cluster, connect_timeout: '-2s' })).toThrow(/connect_timeout: negative duration/);
  });
});
