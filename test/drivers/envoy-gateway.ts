import * as grpc from '@grpc/grpc-js';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { lookupMessageType } from '../../src/proto/envoy-config.js';
import { loadServiceProtos } from '../../src/proto/load.js';
import { encodeMessage } from '../../src/proto/strict/encode.js';
import type { ResourceJson } from '../../src/xds/resources/build.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { EnvoyExtAuthzDriver, grpcMetadata, type DownstreamConnection } from './envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver, type ExtProcFilterConfig, type ExtProcOutcome } from './envoy-ext-proc-driver.js';
import { toProtoStruct } from './proto-struct.js';
import { XdsDeltaDriver } from './xds-delta-driver.js';
import { XdsSotwDriver } from './xds-sotw-driver.js';

type Headers = Array<[string, string]>;
// Decoded proto objects are walked dynamically: every field is optional and typed by the .proto, not by TypeScript.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const EXT_PROC = 'envoy.filters.http.ext_proc';
const ROUTER = 'envoy.filters.http.router';

/** One HTTP request as a workload sends it to the gateway. */
export interface WorkloadRequest {
  method: string;
  /** `host`, `host:port`; the CONNECT target for CONNECT. */
  authority: string;
  path?: string;
  scheme?: 'http' | 'https';
  headers?: Headers;
  /** The body as the chunks the gateway reads them. */
  body?: Array<Buffer | string>;
  trailers?: Headers;
  /** Send without content-length (chunked); with trailers this is implied. */
  chunked?: boolean;
  /** Client certificate presented in the TLS handshake (only when the listener speaks TLS). */
  clientCert?: { cert: string; key: string };
  sourceAddress?: string;
  /** The response the upstream would give (for the ext_proc response side); default `:status 200`. */
  upstreamResponse?: Headers;
  /** See ExtProcRequest.bodyTiming: `after_headers_reply` plays a slow client. */
  bodyTiming?: 'flow_control' | 'after_headers_reply';
}

export interface AccessLogView {
  /** The request header map when the stream ended: after ext_authz, ext_proc and the router's removals. */
  requestHeaders: Headers;
  /** The stream's dynamic metadata, by namespace. */
  dynamicMetadata: Record<string, Record<string, unknown>>;
  /** The HTTPAccessLogEntry Envoy's gRPC access logger builds, or undefined when no such logger is configured. */
  entry?: Obj;
}

export type GatewayResult = (
  | { kind: 'upstream'; cluster: string; headers: Headers; body: Buffer; trailers?: Headers; contentLengthConsistent: boolean; extProc?: ExtProcOutcome }
  | { kind: 'local_reply'; status: number; body: string; headers: Headers; by: 'ext_authz' | 'ext_proc' | 'route' | 'envoy'; detail?: string; extProc?: ExtProcOutcome }
  | { kind: 'connection_failed'; reason: string }
) & { accessLog: AccessLogView };

export interface GatewayOptions {
  /** Tollgate's gRPC port on 127.0.0.1: where every gRPC cluster of the snapshot is reached. */
  tollgatePort: number;
  /** Envoy < 1.34 semantics for mode_override (default true). */
  legacyDefaultIsSend?: boolean;
  /** Added to ext_proc's message_timeout: the test machine is shared, the timeout is not what these tests measure. */
  timeoutSlackMs?: number;
}

/** Decodes a protobuf message to proto-JSON-like objects, unpacking every Any into `{'@type', ...fields}`. */
export function decodeEnvoy(typeName: string, body: Uint8Array): Obj {
  const type = lookupMessageType(typeName);
  if (!type) throw new Error(`unknown proto type ${typeName}`);
  return unpackAnys(type.toObject(type.decode(body), { enums: String, oneofs: true, defaults: false, longs: String })) as Obj;
}

function unpackAnys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unpackAnys);
  if (!v || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const o = v as Obj;
  if (typeof o.type_url === 'string' && (o.value instanceof Uint8Array || o.value === undefined) && Object.keys(o).length <= 2) {
    const name = o.type_url.slice(o.type_url.lastIndexOf('/') + 1);
    if (lookupMessageType(name)) return { '@type': o.type_url, ...decodeEnvoy(name, o.value ?? new Uint8Array()) };
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unpackAnys(x)]));
}

function durationMs(d: Obj | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.round(Number(d.nanos ?? 0) / 1e6);
}

interface Snapshot {
  listeners: Obj[];
  routes: Map<string, Obj>;
  clusters: Map<string, Obj>;
  secrets: Map<string, Obj>;
  /** VHDS VirtualHost resources by name (`<route configuration>/<host>`). */
  virtualHosts?: Map<string, Obj>;
}

/**
 * The route table Envoy builds for a RouteConfiguration with `vhds`: the config source must be ADS on a delta stream
 * or DELTA_GRPC (vhds.cc VhdsSubscription::createVhdsSubscription); the virtual hosts are the RDS ones, then every
 * VHDS one in the configuration's namespace (watch_map.cc namespaceFromName) in name order (a std::map keyed by
 * VirtualHost name: route_config_update_receiver_impl.cc RouteConfigUpdateReceiverImpl::rebuildRouteConfig), and the
 * whole is checked as one RouteConfiguration (ConfigImpl, so a domain in both is rejected).
 */
export function withVhds(rc: Obj, virtualHosts: ReadonlyMap<string, Obj> | undefined): Obj {
  if (!rc.vhds) return rc;
  const source = (rc.vhds.config_source ?? {}) as Obj;
  if (!source.ads && source.api_config_source?.api_type !== 'DELTA_GRPC') throw new Error("vhds: only 'DELTA_GRPC' or 'ADS' (which uses Delta xDS) is supported as a config source.");
  const mine = [...(virtualHosts ?? new Map<string, Obj>())].filter(([name]) => name.slice(0, name.lastIndexOf('/')) === rc.name).map(([, vh]) => vh);
  const byName = new Map<string, Obj>();
  for (const vh of mine) byName.set(vh.name, vh);
  const vhds = [...byName.keys()].sort().map((n) => byName.get(n)!);
  return { ...rc, virtual_hosts: [...(rc.virtual_hosts ?? []), ...vhds] };
}

/** The principal ext_authz reports for a certificate: URI SAN[0] → DNS SAN[0] → Subject (check_request_utils.cc setAttrContextPeer). */
function sansOf(cert: X509Certificate): { uri: string[]; dns: string[] } {
  const uri: string[] = [];
  const dns: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('URI:')) uri.push(part.slice(4));
    else if (part.startsWith('DNS:')) dns.push(part.slice(4));
  }
  return { uri, dns };
}

// ssl/connection_info_impl subjectPeerCertificate: X509_NAME in RFC 2253 form (last RDN first, comma-separated).
function rfc2253(subject: string): string {
  return subject.split('\n').filter(Boolean).reverse().join(',');
}

function principalOf(cert: X509Certificate): string {
  const { uri, dns } = sansOf(cert);
  return uri[0] ?? dns[0] ?? rfc2253(cert.subject);
}

interface TlsPeer {
  peer?: X509Certificate;
  local: X509Certificate;
  protocol: string;
}

/**
 * An Envoy egress gateway configured only from the resources Tollgate pushes (listener, RDS route configuration,
 * clusters, secrets), walking one HTTP request at a time the way Envoy's C++ does: downstream connection (a real TLS
 * handshake when the listener has a DownstreamTlsContext), HCM header mutation (x-request-id, XFCC), route selection,
 * the HTTP filters in their configured order against Tollgate's gRPC services, and the router.
 */
export class EnvoyGateway {
  private readonly authz: EnvoyExtAuthzDriver;
  private readonly proc: EnvoyExtProcDriver;
  private tlsServer: tls.Server | undefined;
  private tlsPort = 0;
  private readonly pendingPeers = new Map<number, (p: TlsPeer | Error) => void>();
  private readonly listener: Obj;
  private readonly hcm: Obj;
  private readonly routeConfig: Obj;
  private readonly tlsContext: Obj | undefined;
  private readonly tlsProblem: string | undefined;
  private readonly tlsMaterial: { cert?: string; key?: string; ca?: string };

  private constructor(
    readonly snapshot: Snapshot,
    private readonly opts: GatewayOptions,
  ) {
    const listener = snapshot.listeners[0];
    if (!listener) throw new Error('the snapshot has no listener');
    this.listener = listener;
    const chain = (listener.filter_chains ?? [])[0] as Obj | undefined;
    const hcm = (chain?.filters ?? []).find((f: Obj) => f.typed_config?.['@type']?.endsWith('HttpConnectionManager'))?.typed_config as Obj | undefined;
    if (!hcm) throw new Error(`listener ${listener.name} has no HttpConnectionManager`);
    this.hcm = hcm;
    const rdsName = hcm.rds?.route_config_name as string | undefined;
    const routeConfig = rdsName ? snapshot.routes.get(rdsName) : hcm.route_config;
    // Without its RouteConfiguration the listener stays warming and serves nothing.
    if (!routeConfig) throw new Error(`route configuration ${rdsName} was not pushed`);
    const table = withVhds(routeConfig, snapshot.virtualHosts);
    checkUniqueDomains(table);
    this.routeConfig = table;
    const ts = chain?.transport_socket?.typed_config as Obj | undefined;
    this.tlsContext = ts?.['@type']?.endsWith('DownstreamTlsContext') ? ts : undefined;
    this.tlsMaterial = {};
    if (this.tlsContext) {
      const { material, problem } = resolveTls(this.tlsContext, snapshot.secrets);
      this.tlsMaterial = material;
      this.tlsProblem = problem;
    }
    // async_client_manager_impl.cc: an envoy_grpc service naming a cluster that does not exist rejects the listener.
    for (const cluster of grpcClusters(hcm)) {
      if (!snapshot.clusters.has(cluster)) throw new Error(`Unknown gRPC client cluster '${cluster}'`);
    }
    this.authz = new EnvoyExtAuthzDriver(opts.tollgatePort, { initialMetadata: initialMetadata(this.filter(EXT_AUTHZ)?.grpc_service) });
    this.proc = new EnvoyExtProcDriver(opts.tollgatePort, { initialMetadata: initialMetadata(this.filter(EXT_PROC)?.grpc_service) });
  }

  /** gRPC needs HTTP/2 to the cluster (HttpProtocolOptions explicit_http_config.http2_protocol_options); else every call fails. */
  private speaksGrpc(cfg: Obj): boolean {
    const cluster = this.snapshot.clusters.get(cfg.grpc_service?.envoy_grpc?.cluster_name);
    const po = cluster?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as Obj | undefined;
    return Boolean(po?.explicit_http_config?.http2_protocol_options || cluster?.http2_protocol_options);
  }

  /** A gateway from buildResources output: each resource is encoded (strict check) and decoded back, as over ADS. */
  static fromResources(resources: ResourceJson[], opts: GatewayOptions): EnvoyGateway {
    const snapshot: Snapshot = { listeners: [], routes: new Map(), clusters: new Map(), secrets: new Map(), virtualHosts: new Map() };
    for (const r of resources) {
      const decoded = decodeEnvoy(r.typeName, encodeMessage(r.typeName, r.json));
      if (r.typeUrl === TYPE_URL.virtualHost) snapshot.virtualHosts!.set(r.name, decoded);
      else add(snapshot, r.typeUrl, decoded);
    }
    return new EnvoyGateway(snapshot, opts);
  }

  /**
   * A gateway from what a running Tollgate pushes over a real ADS stream (CDS, LDS, RDS, and SDS by name): SotW, or
   * with `delta` an Envoy on delta ADS, which takes its virtual hosts over VHDS.
   */
  static async fromAds(opts: GatewayOptions & { nodeId?: string; delta?: boolean }): Promise<EnvoyGateway> {
    if (opts.delta) return EnvoyGateway.fromDeltaAds(opts);
    const driver = new XdsSotwDriver({ address: `127.0.0.1:${opts.tollgatePort}`, node: { id: opts.nodeId ?? 'gw-test', cluster: 'egress-gateway' } });
    try {
      driver.connect();
      await driver.waitFor((d) => d.holds(TYPE_URL.listener).size > 0, 'the listener', 10_000);
      const listeners = [...driver.holds(TYPE_URL.listener).values()].map((b) => decodeEnvoy('envoy.config.listener.v3.Listener', b));
      const rds = listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c: Obj) => (c.filters ?? []).map((f: Obj) => f.typed_config?.rds?.route_config_name).filter(Boolean))) as string[];
      await driver.waitFor((d) => rds.every((n) => d.holds(TYPE_URL.route).has(n)), `route configurations ${rds.join(', ')}`, 10_000);
      const secretNames = listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c: Obj) => sdsNames(c.transport_socket?.typed_config)));
      if (secretNames.length > 0) {
        driver.request(TYPE_URL.secret, secretNames);
        // A secret Tollgate never pushes leaves the listener warming; the gateway then refuses connections.
        await driver.waitFor((d) => secretNames.every((n) => d.holds(TYPE_URL.secret).has(n)), `secrets ${secretNames.join(', ')}`, 3000).catch(() => undefined);
      }
      const snapshot: Snapshot = { listeners, routes: new Map(), clusters: new Map(), secrets: new Map() };
      for (const [, b] of driver.holds(TYPE_URL.route)) add(snapshot, TYPE_URL.route, decodeEnvoy('envoy.config.route.v3.RouteConfiguration', b));
      for (const [, b] of driver.holds(TYPE_URL.cluster)) add(snapshot, TYPE_URL.cluster, decodeEnvoy('envoy.config.cluster.v3.Cluster', b));
      for (const [, b] of driver.holds(TYPE_URL.secret)) add(snapshot, TYPE_URL.secret, decodeEnvoy('envoy.extensions.transport_sockets.tls.v3.Secret', b));
      return new EnvoyGateway(snapshot, opts);
    } finally {
      driver.close();
    }
  }

  private static async fromDeltaAds(opts: GatewayOptions & { nodeId?: string }): Promise<EnvoyGateway> {
    const node = { id: opts.nodeId ?? 'gw-delta-test', cluster: 'egress-gateway', user_agent_name: 'envoy', user_agent_version: 'driver' };
    const driver = new XdsDeltaDriver({ address: `127.0.0.1:${opts.tollgatePort}`, node });
    try {
      driver.connect();
      await driver.waitFor((d) => d.holds(TYPE_URL.listener).size > 0, 'the listener', 10_000);
      const listeners = [...driver.holds(TYPE_URL.listener).values()].map((r) => decodeEnvoy('envoy.config.listener.v3.Listener', r.body));
      const rds = listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c: Obj) => (c.filters ?? []).map((f: Obj) => f.typed_config?.rds?.route_config_name).filter(Boolean))) as string[];
      await driver.waitFor((d) => rds.every((n) => d.holds(TYPE_URL.route).has(n)), `route configurations ${rds.join(', ')}`, 10_000);
      // A route configuration with vhds is not used before its first VHDS update (vhds.cc VhdsSubscription init target).
      const vhds = [...driver.holds(TYPE_URL.route).values()].some((r) => decodeEnvoy('envoy.config.route.v3.RouteConfiguration', r.body).vhds);
      if (vhds) await driver.waitFor((d) => d.responsesOf(TYPE_URL.virtualHost).length > 0, 'the first VHDS update', 10_000);
      const secretNames = listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c: Obj) => sdsNames(c.transport_socket?.typed_config)));
      if (secretNames.length > 0) {
        driver.subscribe(TYPE_URL.secret, secretNames);
        await driver.waitFor((d) => secretNames.every((n) => d.holds(TYPE_URL.secret).has(n)), `secrets ${secretNames.join(', ')}`, 3000).catch(() => undefined);
      }
      await driver.settle(100);
      return EnvoyGateway.fromDeltaDriver(driver, opts, listeners);
    } finally {
      driver.close();
    }
  }

  /** A gateway from what a delta driver holds now (listeners, route configurations, VHDS virtual hosts, clusters, secrets). */
  static fromDeltaDriver(driver: XdsDeltaDriver, opts: GatewayOptions, listeners?: Obj[]): EnvoyGateway {
    const snapshot: Snapshot = {
      listeners: listeners ?? [...driver.holds(TYPE_URL.listener).values()].map((r) => decodeEnvoy('envoy.config.listener.v3.Listener', r.body)),
      routes: new Map(),
      clusters: new Map(),
      secrets: new Map(),
      virtualHosts: new Map(),
    };
    for (const [, r] of driver.holds(TYPE_URL.route)) add(snapshot, TYPE_URL.route, decodeEnvoy('envoy.config.route.v3.RouteConfiguration', r.body));
    // Keyed by resource name: the namespace is read from it (watch_map.cc), the route table keys by VirtualHost name.
    for (const [name, r] of driver.holds(TYPE_URL.virtualHost)) snapshot.virtualHosts!.set(name, decodeEnvoy('envoy.config.route.v3.VirtualHost', r.body));
    for (const [, r] of driver.holds(TYPE_URL.cluster)) add(snapshot, TYPE_URL.cluster, decodeEnvoy('envoy.config.cluster.v3.Cluster', r.body));
    for (const [, r] of driver.holds(TYPE_URL.secret)) add(snapshot, TYPE_URL.secret, decodeEnvoy('envoy.extensions.transport_sockets.tls.v3.Secret', r.body));
    return new EnvoyGateway(snapshot, opts);
  }

  /** The pushed route configuration, decoded (with `vhds`: merged with its VHDS virtual hosts, as Envoy routes). */
  get routes(): Obj {
    return this.routeConfig;
  }

  /** The ext_proc filter's configuration as the driver plays it. */
  get extProcConfig(): ExtProcFilterConfig | undefined {
    const f = this.filter(EXT_PROC);
    return f ? this.extProcFilterConfig(f) : undefined;
  }

  close(): void {
    this.authz.close();
    this.proc.close();
    this.tlsServer?.close();
  }

  async send(req: WorkloadRequest): Promise<GatewayResult> {
    const dynamicMetadata: Record<string, Record<string, unknown>> = {};
    let headers: Headers = [];
    const log = (): AccessLogView => ({ requestHeaders: headers, dynamicMetadata });

    // Downstream connection: plaintext, or a real TLS handshake against the pushed DownstreamTlsContext.
    let peer: TlsPeer | undefined;
    if (this.tlsContext) {
      try {
        peer = await this.handshake(req.clientCert);
      } catch (err) {
        return { kind: 'connection_failed', reason: (err as Error).message, accessLog: log() };
      }
    }
    const conn: DownstreamConnection = {
      sourceAddress: req.sourceAddress ?? '10.0.5.7',
      sourcePort: 41234,
      destinationAddress: '10.0.0.2',
      destinationPort: Number(this.listener.address?.socket_address?.port_value ?? 10000),
      ...(peer?.peer ? { peerPrincipal: principalOf(peer.peer) } : {}),
      ...(peer ? { localPrincipal: principalOf(peer.local) } : {}),
    };

    const chunks = (req.body ?? []).map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)));
    const bodyLength = chunks.reduce((n, c) => n + c.length, 0);
    const isConnect = req.method === 'CONNECT';
    headers = [[':authority', req.authority], [':method', req.method]];
    if (!isConnect) headers.push([':path', req.path ?? '/'], [':scheme', req.scheme ?? 'http']);
    for (const [k, v] of req.headers ?? []) headers.push([k.toLowerCase(), v]);
    const has = (name: string) => headers.some(([k]) => k === name);
    if (!has('user-agent')) headers.push(['user-agent', 'curl/8.5.0']);
    if (bodyLength > 0 && !has('content-length') && !req.chunked && !req.trailers?.length) headers.push(['content-length', String(bodyLength)]);
    if ((req.chunked || req.trailers?.length) && bodyLength > 0 && !has('transfer-encoding')) headers.push(['transfer-encoding', 'chunked']);
    // conn_manager_impl.cc ActiveStream::decodeHeaders: path normalization (400 on reject) before the header mutations.
    const normalized = this.normalizePath(headers);
    if (typeof normalized === 'string') return { kind: 'local_reply', status: 400, body: 'Bad Request', headers: [], by: 'envoy', detail: normalized, accessLog: log() };
    headers = this.mutateRequestHeaders(normalized, peer);

    // conn_manager_impl.cc ActiveStream::decodeHeaders → refreshCachedRoute: the route is chosen before the filters run.
    let selected = this.selectRoute(headers);

    for (const f of this.hcm.http_filters ?? []) {
      const name = f.name as string;
      const disabled = this.perRoute(selected, name)?.disabled === true;
      if (name === EXT_AUTHZ && !disabled) {
        const cfg = f.typed_config as Obj;
        if (!this.speaksGrpc(cfg)) {
          const status = statusOf(cfg.status_on_error) ?? 403;
          return { kind: 'local_reply', status, body: '', headers: [], by: 'ext_authz', detail: 'authorization cluster is not HTTP/2', accessLog: this.accessLog(headers, dynamicMetadata, peer, conn, status, bodyLength) };
        }
        const r = await this.authz.filter(headers, conn, {
          statusOnError: statusOf(cfg.status_on_error) ?? 403,
          failureModeAllow: cfg.failure_mode_allow === true,
          timeoutMs: (durationMs(cfg.grpc_service?.timeout) ?? 200) + (this.opts.timeoutSlackMs ?? 2000),
          encodeRawHeaders: cfg.encode_raw_headers === true,
        });
        if (Object.keys(r.dynamicMetadata).length > 0) dynamicMetadata[EXT_AUTHZ] = { ...(dynamicMetadata[EXT_AUTHZ] ?? {}), ...r.dynamicMetadata };
        if (r.status !== 'ok') {
          return { kind: 'local_reply', status: r.localReply!.status, body: r.localReply!.body, headers: r.localReply!.headers, by: 'ext_authz', accessLog: this.accessLog(headers, dynamicMetadata, peer, conn, r.localReply!.status, bodyLength) };
        }
        headers = r.headers;
        // ext_authz.cc onComplete: a changed header map re-selects the route only with clear_route_cache.
        if (cfg.clear_route_cache === true) selected = this.selectRoute(headers);
      } else if (name === EXT_PROC && !disabled) {
        const cfg = this.extProcFilterConfig(f.typed_config as Obj);
        if (!this.speaksGrpc(f.typed_config as Obj)) {
          const status = cfg.statusOnError ?? 500;
          return { kind: 'local_reply', status, body: '', headers: [], by: 'ext_proc', detail: 'processor cluster is not HTTP/2', accessLog: this.accessLog(headers, dynamicMetadata, peer, conn, status, bodyLength) };
        }
        const out = await this.proc.process(
          {
            headers,
            body: chunks,
            ...(req.trailers ? { trailers: req.trailers } : {}),
            metadata: dynamicMetadata,
            attributes: {
              'source.address': `${conn.sourceAddress}:${conn.sourcePort}`,
              'source.port': conn.sourcePort,
              ...(conn.peerPrincipal ? { 'source.principal': conn.peerPrincipal } : {}),
              'request.id': headers.find(([k]) => k === 'x-request-id')?.[1],
              'request.method': req.method,
              'request.host': req.authority,
              'request.path': headers.find(([k]) => k === ':path')?.[1],
              'request.scheme': req.scheme ?? 'http',
            },
            // The response side runs only for a request that reached an upstream.
            ...(selected?.route?.route?.cluster ? { responseHeaders: req.upstreamResponse ?? [[':status', '200'], ['content-type', 'application/json']] } : {}),
            ...(req.bodyTiming ? { bodyTiming: req.bodyTiming } : {}),
          },
          cfg,
        );
        Object.assign(dynamicMetadata, out.dynamicMetadata);
        if (out.result === 'local_reply') {
          return {
            kind: 'local_reply',
            status: out.status ?? 500,
            body: out.body.toString(),
            headers: out.headers,
            by: out.localReplyOrigin === 'envoy' ? 'envoy' : 'ext_proc',
            ...(out.error ? { detail: out.error } : {}),
            extProc: out,
            accessLog: this.accessLog(headers, dynamicMetadata, peer, conn, out.status ?? 500, bodyLength),
          };
        }
        headers = out.upstream!.headers;
        return this.route(selected, headers, out.upstream!.body, out.upstream!.trailers, dynamicMetadata, peer, conn, bodyLength, out);
      } else if (name === ROUTER) {
        return this.route(selected, headers, Buffer.concat(chunks), req.trailers, dynamicMetadata, peer, conn, bodyLength);
      }
    }
    return { kind: 'local_reply', status: 404, body: '', headers: [], by: 'envoy', detail: 'no router filter', accessLog: log() };
  }

  /** Sends access log entries to Tollgate's ALS the way Envoy's gRPC access logger does: identifier first, then entries. */
  async deliverAccessLogs(entries: Obj[]): Promise<void> {
    const al = ((this.hcm.access_log ?? []) as Obj[]).find((a) => a.typed_config?.['@type']?.endsWith('HttpGrpcAccessLogConfig'))?.typed_config as Obj | undefined;
    if (!al) throw new Error('the listener configures no gRPC access logger');
    const cluster = al.common_config?.grpc_service?.envoy_grpc?.cluster_name as string;
    if (!this.snapshot.clusters.has(cluster)) throw new Error(`access log cluster ${cluster} is not in the snapshot`);
    const { grpcObject } = loadServiceProtos();
    const Ctor = (grpcObject.envoy as never as { service: { accesslog: { v3: { AccessLogService: grpc.ServiceClientConstructor } } } }).service.accesslog.v3.AccessLogService;
    const client = new Ctor(`127.0.0.1:${this.opts.tollgatePort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      StreamAccessLogs: (md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>;
    };
    await new Promise<void>((resolve, reject) => {
      const call = client.StreamAccessLogs(grpcMetadata(initialMetadata(al.common_config?.grpc_service)), (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      });
      // grpc_access_log_impl.cc GrpcAccessLoggerImpl: the identifier (node, log_name) goes in the first message of a stream only.
      call.write({ identifier: { node: { id: 'gw-test', cluster: 'egress-gateway' }, log_name: al.common_config?.log_name ?? '' }, http_logs: { log_entry: entries } });
      call.end();
    });
  }

  private filter(name: string): Obj | undefined {
    return ((this.hcm.http_filters ?? []) as Obj[]).find((f) => f.name === name)?.typed_config;
  }

  private extProcFilterConfig(cfg: Obj): ExtProcFilterConfig {
    const pm = (cfg.processing_mode ?? {}) as Obj;
    const limit = this.listener.per_connection_buffer_limit_bytes?.value;
    return {
      requestHeaderMode: pm.request_header_mode ?? 'SEND',
      responseHeaderMode: pm.response_header_mode ?? 'SEND',
      requestBodyMode: pm.request_body_mode ?? 'NONE',
      responseBodyMode: pm.response_body_mode ?? 'NONE',
      requestTrailerMode: pm.request_trailer_mode ?? 'SKIP',
      responseTrailerMode: pm.response_trailer_mode ?? 'SKIP',
      allowModeOverride: cfg.allow_mode_override === true,
      observabilityMode: cfg.observability_mode === true,
      // listener.proto per_connection_buffer_limit_bytes: default 1 MiB; the HCM's decoder buffer limit follows it.
      bufferLimit: limit !== undefined ? Number(limit) : 1024 * 1024,
      forwardingNamespaces: cfg.metadata_options?.forwarding_namespaces?.untyped ?? [],
      receivingNamespaces: cfg.metadata_options?.receiving_namespaces?.untyped ?? [],
      requestAttributes: cfg.request_attributes ?? [],
      messageTimeoutMs: (durationMs(cfg.message_timeout) ?? 200) + (this.opts.timeoutSlackMs ?? 2000),
      failureModeAllow: cfg.failure_mode_allow === true,
      statusOnError: statusOf(cfg.status_on_error) ?? 500,
      legacyDefaultIsSend: this.opts.legacyDefaultIsSend ?? true,
    };
  }

  /**
   * conn_manager_utility.cc maybeNormalizePath: escaped slashes per path_with_escaped_slashes_action, then
   * normalize_path (dot segments, backslashes; Envoy uses Chromium's canonicalizer, this covers the common cases),
   * then merge_slashes. Only the path is touched, never the query.
   */
  private normalizePath(headers: Headers): Headers | string {
    const i = headers.findIndex(([k]) => k === ':path');
    if (i < 0) return headers;
    const full = headers[i]![1];
    const q = full.search(/[?#]/);
    let path = q < 0 ? full : full.slice(0, q);
    const rest = q < 0 ? '' : full.slice(q);
    if (rest.startsWith('#')) return 'path with a fragment';
    if (!path.startsWith('/')) return headers;
    const action = (this.hcm.path_with_escaped_slashes_action as string | undefined) ?? 'KEEP_UNCHANGED';
    if (action !== 'KEEP_UNCHANGED' && /%2f|%5c/i.test(path)) {
      if (action === 'REJECT_REQUEST') return 'escaped slashes in path';
      path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    }
    if (this.hcm.normalize_path?.value === true) {
      const out: string[] = [];
      for (const seg of path.replace(/\\/g, '/').split('/').slice(1)) {
        const s = seg.replace(/%2e/gi, '.');
        if (s === '.') continue;
        if (s === '..') out.pop();
        else out.push(seg);
      }
      const trailingDot = /\/\.{1,2}$/.test(path.replace(/%2e/gi, '.'));
      path = '/' + out.join('/') + (trailingDot && out.length ? '/' : '');
    }
    if (this.hcm.merge_slashes === true) path = path.replace(/\/{2,}/g, '/');
    const copy = headers.slice();
    copy[i] = [':path', path + rest];
    return copy;
  }

  /** conn_manager_utility.cc mutateRequestHeaders: x-forwarded-proto, x-request-id, then mutateXfccRequestHeader. */
  private mutateRequestHeaders(headers: Headers, peer: TlsPeer | undefined): Headers {
    let out = headers.slice();
    const has = (name: string) => out.some(([k]) => k === name);
    // The HCM strips ports from :authority only when asked to.
    if (this.hcm.strip_any_host_port === true) out = out.map(([k, v]) => (k === ':authority' ? [k, v.replace(/:\d+$/, '')] : [k, v]));
    if (!has('x-forwarded-proto')) out.push(['x-forwarded-proto', peer ? 'https' : 'http']);
    // edge_request = use_remote_address && external; generate_request_id defaults to true.
    const edge = this.hcm.use_remote_address?.value === true;
    const generate = this.hcm.generate_request_id?.value ?? true;
    if (generate && (edge || !has('x-request-id'))) out = [...out.filter(([k]) => k !== 'x-request-id'), ['x-request-id', randomUUID()]];
    const mode = (this.hcm.forward_client_cert_details as string | undefined) ?? 'SANITIZE';
    if (mode === 'ALWAYS_FORWARD_ONLY') return out;
    if (mode === 'SANITIZE' || !peer?.peer) return out.filter(([k]) => k !== 'x-forwarded-client-cert');
    if (mode === 'FORWARD_ONLY') return out;
    const details: string[] = [];
    for (const uri of sansOf(peer.local).uri) details.push(`By=${uri}`);
    details.push(`Hash=${createHash('sha256').update(peer.peer.raw).digest('hex')}`);
    const set = (this.hcm.set_current_client_cert_details ?? {}) as Obj;
    const { uri, dns } = sansOf(peer.peer);
    // http_connection_manager/config.cc: Cert, Chain, Subject, URI, DNS, in that order.
    const pem = encodeURIComponent(peer.peer.toString());
    if (set.cert === true) details.push(`Cert="${pem}"`);
    if (set.chain === true) details.push(`Chain="${pem}"`);
    if (set.subject?.value === true || set.subject === true) details.push(`Subject="${rfc2253(peer.peer.subject)}"`);
    if (set.uri === true) details.push(...(uri.length ? uri.map((u) => `URI=${u}`) : ['URI=']));
    if (set.dns === true) details.push(...dns.map((d) => `DNS=${d}`));
    const value = details.join(';');
    if (mode === 'APPEND_FORWARD') {
      const current = out.find(([k]) => k === 'x-forwarded-client-cert')?.[1];
      return [...out.filter(([k]) => k !== 'x-forwarded-client-cert'), ['x-forwarded-client-cert', current ? `${current},${value}` : value]];
    }
    return [...out.filter(([k]) => k !== 'x-forwarded-client-cert'), ['x-forwarded-client-cert', value]];
  }

  /** config_impl.cc RouteMatcher::findVirtualHost, then the first matching route of that virtual host. */
  private selectRoute(headers: Headers): { vhost: Obj; route: Obj | undefined } | undefined {
    const authority = (headers.find(([k]) => k === ':authority')?.[1] ?? '').toLowerCase();
    const host = this.routeConfig.ignore_port_in_host_matching === true ? authority.replace(/:\d+$/, '') : authority;
    const vhost = findVirtualHost(this.routeConfig.virtual_hosts ?? [], host);
    if (!vhost) return undefined;
    return { vhost, route: ((vhost.routes ?? []) as Obj[]).find((r) => routeMatches(r.match ?? {}, headers)) };
  }

  private perRoute(selected: { vhost: Obj; route: Obj | undefined } | undefined, filter: string): Obj | undefined {
    return selected?.route?.typed_per_filter_config?.[filter] ?? selected?.vhost?.typed_per_filter_config?.[filter];
  }

  /** router.cc Filter::decodeHeaders: no route → 404, direct_response → local reply, unknown cluster → 503; else upstream. */
  private route(selected: { vhost: Obj; route: Obj | undefined } | undefined, headers: Headers, body: Buffer, trailers: Headers | undefined, dm: Record<string, Record<string, unknown>>, peer: TlsPeer | undefined, conn: DownstreamConnection, bodyLength: number, extProc?: ExtProcOutcome): GatewayResult {
    const route = selected?.route;
    if (!route) return { kind: 'local_reply', status: 404, body: '', headers: [], by: 'route', detail: 'route_not_found', ...(extProc ? { extProc } : {}), accessLog: this.accessLog(headers, dm, peer, conn, 404, bodyLength) };
    if (route.direct_response) {
      const status = Number(route.direct_response.status);
      return { kind: 'local_reply', status, body: route.direct_response.body?.inline_string ?? '', headers: [], by: 'route', detail: 'direct_response', ...(extProc ? { extProc } : {}), accessLog: this.accessLog(headers, dm, peer, conn, status, bodyLength) };
    }
    const cluster = route.route?.cluster as string | undefined;
    if (!cluster || !this.snapshot.clusters.has(cluster)) {
      return { kind: 'local_reply', status: 503, body: 'no healthy upstream', headers: [], by: 'envoy', detail: `cluster_not_found: ${cluster}`, ...(extProc ? { extProc } : {}), accessLog: this.accessLog(headers, dm, peer, conn, 503, bodyLength) };
    }
    // RouteEntryImplBase::finalizeRequestHeaders: the route's, virtual host's and configuration's removals change the
    // stream's own header map, which the access logger reads when the stream ends.
    const remove = new Set<string>([...(this.routeConfig.request_headers_to_remove ?? []), ...(selected!.vhost.request_headers_to_remove ?? []), ...(route.request_headers_to_remove ?? [])].map((h: string) => h.toLowerCase()));
    const out = headers.filter(([k]) => !remove.has(k));
    const cl = out.find(([k]) => k === 'content-length');
    const status = Number((extProc?.responseHeaders ?? [[':status', '200']]).find(([k]) => k === ':status')?.[1] ?? 200);
    return {
      kind: 'upstream',
      cluster,
      headers: out,
      body,
      ...(trailers?.length ? { trailers } : {}),
      contentLengthConsistent: !cl || Number(cl[1]) === body.length,
      ...(extProc ? { extProc } : {}),
      accessLog: this.accessLog(out, dm, peer, conn, status, bodyLength, cluster),
    };
  }

  /** http_grpc_access_log_impl.cc HttpGrpcAccessLog::emitLog and grpc_access_log_utils.cc extractCommonAccessLogProperties. */
  private accessLog(headers: Headers, dm: Record<string, Record<string, unknown>>, peer: TlsPeer | undefined, conn: DownstreamConnection, status: number, bodyLength: number, cluster?: string): AccessLogView {
    const view: AccessLogView = { requestHeaders: headers, dynamicMetadata: dm };
    const al = ((this.hcm.access_log ?? []) as Obj[]).find((a) => a.typed_config?.['@type']?.endsWith('HttpGrpcAccessLogConfig'))?.typed_config as Obj | undefined;
    if (!al) return view;
    const get = (name: string) => headers.find(([k]) => k === name)?.[1];
    const now = Date.now();
    const logged: Record<string, string> = {};
    for (const name of (al.additional_request_headers_to_log ?? []) as string[]) {
      const v = get(name.toLowerCase());
      if (v !== undefined) logged[name.toLowerCase()] = v;
    }
    const { uri, dns } = peer?.peer ? sansOf(peer.peer) : { uri: [], dns: [] };
    view.entry = {
      common_properties: {
        downstream_remote_address: { socket_address: { address: conn.sourceAddress, port_value: conn.sourcePort } },
        downstream_local_address: { socket_address: { address: conn.destinationAddress, port_value: conn.destinationPort } },
        ...(peer
          ? {
              tls_properties: {
                tls_version: peer.protocol === 'TLSv1.3' ? 'TLSv1_3' : 'TLSv1_2',
                ...(peer.peer ? { peer_certificate_properties: { subject_alt_name: [...uri.map((u) => ({ uri: u })), ...dns.map((d) => ({ dns: d }))], subject: rfc2253(peer.peer.subject) } } : {}),
              },
            }
          : {}),
        start_time: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 },
        ...(cluster ? { upstream_cluster: cluster } : {}),
        // Only when the stream has dynamic metadata: the whole of it, every namespace.
        ...(Object.keys(dm).length ? { metadata: { filter_metadata: Object.fromEntries(Object.entries(dm).map(([ns, v]) => [ns, toProtoStruct(v)])) } } : {}),
      },
      protocol_version: 'HTTP11',
      request: {
        request_method: get(':method'),
        scheme: get(':scheme') ?? '',
        authority: get(':authority') ?? '',
        path: get(':path') ?? '',
        ...(get('user-agent') ? { user_agent: get('user-agent') } : {}),
        ...(get('x-forwarded-for') ? { forwarded_for: get('x-forwarded-for') } : {}),
        ...(get('x-request-id') ? { request_id: get('x-request-id') } : {}),
        request_headers_bytes: String(headers.reduce((n, [k, v]) => n + k.length + v.length, 0)),
        request_body_bytes: String(bodyLength),
        ...(Object.keys(logged).length ? { request_headers: logged } : {}),
      },
      response: { response_code: { value: status }, response_headers_bytes: '120', response_body_bytes: '0' },
    };
    return view;
  }

  private async handshake(clientCert: { cert: string; key: string } | undefined): Promise<TlsPeer> {
    if (this.tlsProblem) throw new Error(this.tlsProblem);
    const require = this.tlsContext!.require_client_certificate?.value === true;
    if (!this.tlsServer) {
      const { cert, key, ca } = this.tlsMaterial;
      const server = tls.createServer({ cert, key, ...(ca ? { ca } : {}), requestCert: true, rejectUnauthorized: require });
      server.on('secureConnection', (socket) => {
        const id = Number(socket.remotePort);
        const raw = socket.getPeerX509Certificate();
        // With a trusted CA, a presented certificate that does not verify fails the handshake even when
        // require_client_certificate is false (source/common/tls/cert_validator/default_validator.cc doVerifyCertChain).
        if (raw && ca && !socket.authorized) {
          this.pendingPeers.get(id)?.(new Error(`client certificate rejected: ${String(socket.authorizationError)}`));
          socket.destroy();
          return;
        }
        const local = socket.getX509Certificate()!;
        this.pendingPeers.get(id)?.({ local, protocol: socket.getProtocol() ?? 'TLSv1.3', ...(raw ? { peer: raw } : {}) });
        socket.end('ok');
      });
      server.on('tlsClientError', (err, socket) => this.pendingPeers.get(Number(socket.remotePort))?.(err));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.tlsServer = server;
      this.tlsPort = (server.address() as AddressInfo).port;
    }
    return new Promise<TlsPeer>((resolve, reject) => {
      let settled = false;
      let port = 0;
      const done = (x: TlsPeer | Error) => {
        if (settled) return;
        settled = true;
        this.pendingPeers.delete(port);
        if (x instanceof Error) reject(new Error(`TLS handshake failed: ${x.message}`));
        else resolve(x);
      };
      const socket = tls.connect({ host: '127.0.0.1', port: this.tlsPort, ca: this.tlsMaterial.ca ?? this.tlsMaterial.cert, checkServerIdentity: () => undefined, ...(clientCert ? { cert: clientCert.cert, key: clientCert.key } : {}) });
      socket.on('connect', () => {
        port = socket.localPort ?? 0;
        this.pendingPeers.set(port, done);
      });
      socket.on('error', (err) => done(err));
      socket.on('close', () => done(new Error('connection closed by the gateway')));
      socket.setTimeout(5000, () => {
        socket.destroy();
        done(new Error('handshake timed out'));
      });
      socket.resume();
    });
  }
}

function initialMetadata(grpcService: Obj | undefined): Array<[string, string]> {
  return ((grpcService?.initial_metadata ?? []) as Obj[]).map((h) => [String(h.key), String(h.value ?? '')]);
}

function grpcClusters(hcm: Obj): string[] {
  const names: string[] = [];
  for (const f of (hcm.http_filters ?? []) as Obj[]) {
    const c = f.typed_config?.grpc_service?.envoy_grpc?.cluster_name;
    if (c) names.push(c);
  }
  for (const a of (hcm.access_log ?? []) as Obj[]) {
    const c = a.typed_config?.common_config?.grpc_service?.envoy_grpc?.cluster_name;
    if (c) names.push(c);
  }
  return names;
}

function add(s: Snapshot, typeUrl: string, obj: Obj): void {
  if (typeUrl === TYPE_URL.listener) s.listeners.push(obj);
  else if (typeUrl === TYPE_URL.route) s.routes.set(obj.name, obj);
  else if (typeUrl === TYPE_URL.cluster) s.clusters.set(obj.name, obj);
  else if (typeUrl === TYPE_URL.secret) s.secrets.set(obj.name, obj);
}

function statusOf(s: Obj | undefined): number | undefined {
  if (!s?.code) return undefined;
  return typeof s.code === 'number' ? s.code : ({ Forbidden: 403, InternalServerError: 500, ServiceUnavailable: 503, BadGateway: 502, GatewayTimeout: 504, Unauthorized: 401 } as Record<string, number>)[s.code];
}

function sdsNames(ctx: Obj | undefined): string[] {
  if (!ctx?.['@type']?.endsWith('DownstreamTlsContext')) return [];
  const c = (ctx.common_tls_context ?? {}) as Obj;
  return [...((c.tls_certificate_sds_secret_configs ?? []) as Obj[]).map((x) => x.name as string), ...(c.validation_context_sds_secret_config?.name ? [c.validation_context_sds_secret_config.name as string] : [])];
}

function dataSource(d: Obj | undefined): string | undefined {
  if (!d) return undefined;
  if (d.inline_string !== undefined) return d.inline_string as string;
  if (d.inline_bytes !== undefined) return Buffer.from(d.inline_bytes as Uint8Array).toString('utf8');
  return undefined;
}

/** DownstreamTlsContext → certificate, key and trusted CA, inline or from the snapshot's Secret resources (SDS). */
function resolveTls(ctx: Obj, secrets: Map<string, Obj>): { material: { cert?: string; key?: string; ca?: string }; problem?: string } {
  const c = (ctx.common_tls_context ?? {}) as Obj;
  const material: { cert?: string; key?: string; ca?: string } = {};
  const inlineCert = ((c.tls_certificates ?? []) as Obj[])[0];
  if (inlineCert) {
    material.cert = dataSource(inlineCert.certificate_chain);
    material.key = dataSource(inlineCert.private_key);
  }
  for (const sds of (c.tls_certificate_sds_secret_configs ?? []) as Obj[]) {
    const secret = secrets.get(sds.name);
    if (!secret?.tls_certificate) return { material, problem: `listener warming: secret ${sds.name} was not pushed` };
    material.cert = dataSource(secret.tls_certificate.certificate_chain);
    material.key = dataSource(secret.tls_certificate.private_key);
  }
  if (c.validation_context) material.ca = dataSource(c.validation_context.trusted_ca);
  const vname = c.validation_context_sds_secret_config?.name as string | undefined;
  if (vname) {
    const secret = secrets.get(vname);
    if (!secret?.validation_context) return { material, problem: `listener warming: secret ${vname} was not pushed` };
    material.ca = dataSource(secret.validation_context.trusted_ca);
  }
  if (!material.cert || !material.key) return { material, problem: 'listener has a DownstreamTlsContext without a certificate' };
  return { material };
}

/** config_impl.cc RouteMatcher constructor: a duplicate domain rejects the whole RouteConfiguration (NACK). */
function checkUniqueDomains(rc: Obj): void {
  const seen = new Map<string, string>();
  for (const vh of (rc.virtual_hosts ?? []) as Obj[]) {
    for (const d of (vh.domains ?? []) as string[]) {
      const key = d.toLowerCase();
      if (seen.has(key)) throw new Error(`Only unique values for domains are permitted. Duplicate entry of domain ${key} in route ${rc.name}`);
      seen.set(key, vh.name);
    }
  }
}

/** Exact domain, then suffix wildcards (`*.x`, `*x`) longest first, then prefix wildcards (`x*`) longest first, then `*`. */
function findVirtualHost(vhosts: Obj[], host: string): Obj | undefined {
  let fallback: Obj | undefined;
  const suffixes: Array<[string, Obj]> = [];
  const prefixes: Array<[string, Obj]> = [];
  for (const vh of vhosts) {
    for (const raw of (vh.domains ?? []) as string[]) {
      const d = raw.toLowerCase();
      if (d === '*') fallback = vh;
      else if (d.startsWith('*')) suffixes.push([d.slice(1), vh]);
      else if (d.endsWith('*')) prefixes.push([d.slice(0, -1), vh]);
      else if (d === host) return vh;
    }
  }
  // The wildcard must match at least one character (findWildcardVirtualHost skips lengths >= the host's).
  suffixes.sort((a, b) => b[0].length - a[0].length);
  for (const [s, vh] of suffixes) if (s.length < host.length && host.endsWith(s)) return vh;
  prefixes.sort((a, b) => b[0].length - a[0].length);
  for (const [p, vh] of prefixes) if (p.length < host.length && host.startsWith(p)) return vh;
  return fallback;
}

function stringMatches(m: Obj, value: string): boolean {
  const ic = m.ignore_case === true;
  const v = ic ? value.toLowerCase() : value;
  const t = (x: string) => (ic ? x.toLowerCase() : x);
  if (m.exact !== undefined) return v === t(m.exact);
  if (m.prefix !== undefined) return v.startsWith(t(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(t(m.suffix));
  if (m.contains !== undefined) return v.includes(t(m.contains));
  if (m.safe_regex?.regex !== undefined) return re2(m.safe_regex.regex).test(value);
  return false;
}

/** RE2 (safe_regex, full match) as a JS RegExp: a leading `(?i)` becomes the `i` flag. */
function re2(regex: string): RegExp {
  const ci = regex.startsWith('(?i)');
  return new RegExp(`^(?:${ci ? regex.slice(4) : regex})$`, ci ? 'i' : '');
}

/** config_impl.cc RouteEntryImplBase::matchRoute: path specifier, then every header matcher. */
function routeMatches(match: Obj, headers: Headers): boolean {
  const method = headers.find(([k]) => k === ':method')?.[1];
  const path = (headers.find(([k]) => k === ':path')?.[1] ?? '').split('?')[0]!;
  const rawPath = headers.find(([k]) => k === ':path')?.[1];
  if (match.connect_matcher !== undefined) {
    if (method !== 'CONNECT') return false;
  } else {
    // A CONNECT request has no :path (HTTP/1), so only connect_matcher routes can take it.
    if (rawPath === undefined) return false;
    if (match.prefix !== undefined && !path.startsWith(match.prefix)) return false;
    if (match.path !== undefined && path !== match.path) return false;
    if (match.safe_regex !== undefined && !re2(match.safe_regex.regex).test(path)) return false;
  }
  for (const hm of (match.headers ?? []) as Obj[]) {
    const value = headers.find(([k]) => k === String(hm.name).toLowerCase())?.[1];
    let ok: boolean;
    if (hm.present_match !== undefined) ok = (value !== undefined) === hm.present_match;
    else if (value === undefined) ok = false;
    else if (hm.string_match) ok = stringMatches(hm.string_match, value);
    else if (hm.exact_match !== undefined) ok = value === hm.exact_match;
    else if (hm.prefix_match !== undefined) ok = value.startsWith(hm.prefix_match);
    else if (hm.suffix_match !== undefined) ok = value.endsWith(hm.suffix_match);
    else ok = true;
    if (hm.invert_match === true) ok = !ok;
    if (!ok) return false;
  }
  return true;
}
