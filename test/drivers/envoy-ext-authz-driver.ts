import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { CheckRequest, CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';
import { fromProtoStruct, type ProtoStruct } from './proto-struct.js';
import { statusNumber } from './envoy-ext-proc-driver.js';

type Headers = Array<[string, string]>;

/** The downstream connection as ext_authz reads it (check_request_utils.cc setAttrContextPeer). */
export interface DownstreamConnection {
  sourceAddress: string;
  sourcePort: number;
  destinationAddress?: string;
  destinationPort?: number;
  /** Principal of the verified client certificate (URI SAN[0] → DNS SAN[0] → Subject); absent without one. */
  peerPrincipal?: string;
  /** Principal of the listener's own certificate, when the connection is TLS. */
  localPrincipal?: string;
}

/** What the ext_authz filter did with the request (ext_authz.cc Filter::onComplete). */
export interface AuthzFilterResult {
  status: 'ok' | 'denied' | 'error';
  /** The request headers after the OK response was applied (set/append in order, then removals). */
  headers: Headers;
  /** The local reply Envoy sends for a denial or an error. */
  localReply?: { status: number; headers: Headers; body: string };
  /** `dynamic_metadata` of the response, stored under `envoy.filters.http.ext_authz` (empty when none). */
  dynamicMetadata: Record<string, unknown>;
  /** Mutations ext_authz.cc refused to apply (removing `:`-headers or `host`). */
  ignored: string[];
  raw?: CheckResponse;
}

/** An outbound HTTP request as it reaches the Envoy egress gateway. */
export interface GatewayRequest {
  method: string;
  /** `:authority`: `host`, `host:port`, `[v6]:port`; the CONNECT target for CONNECT. */
  authority: string;
  /** `:path` with query; omitted for HTTP/1 CONNECT, as Envoy omits it. */
  path?: string;
  scheme?: 'http' | 'https';
  /** Extra request headers (any case; Envoy lower-cases them). Arrays become repeated headers. */
  headers?: Record<string, string | string[]>;
  sourceAddress?: string;
  sourcePort?: number;
  /** Client certificate principal (URI SAN[0] → DNS SAN[0] → Subject); only with mTLS to the gateway. */
  peerPrincipal?: string;
  contextExtensions?: Record<string, string>;
  /** `encode_raw_headers: true`: headers travel in `header_map` with `raw_value` bytes. */
  encodeRawHeaders?: boolean;
  protocol?: 'HTTP/1.1' | 'HTTP/2';
}

export interface CheckOutcome {
  allowed: boolean;
  grpcStatus: number;
  /** Headers Envoy would set on the upstream request (OK) or on the local reply (denied). */
  headers: Record<string, string>;
  headersToRemove: string[];
  /** `dynamic_metadata` (Struct) as plain JSON: what Envoy stores under `envoy.filters.http.ext_authz`. */
  dynamicMetadata: Record<string, unknown>;
  /** HTTP status Envoy would send for a denial (403 when unset, as Envoy does). */
  httpStatus?: number;
  body?: string;
  raw: CheckResponse;
}

const HTTP_STATUS: Record<string, number> = { Forbidden: 403, Unauthorized: 401, BadRequest: 400, InternalServerError: 500 };

/**
 * Test driver that plays Envoy's ext_authz filter: it builds CheckRequests the way
 * envoy/source/extensions/filters/common/ext_authz/check_request_utils.cc does (lower-case headers with
 * pseudo-headers, `path` with the query, `host` = `:authority`, principal only with client TLS,
 * repeated headers comma-joined) and applies the CheckResponse the way ext_authz.cc does.
 */
export class EnvoyExtAuthzDriver {
  private readonly client: grpc.Client & { Check: (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void };
  private streamId = 1000;
  private readonly initialMetadata: Array<[string, string]>;

  /** `initialMetadata`: the grpc_service's initial_metadata, which Envoy's gRPC client adds to every call. */
  constructor(port: number, opts: { initialMetadata?: Array<[string, string]> } = {}) {
    this.initialMetadata = opts.initialMetadata ?? [];
    const { grpcObject } = loadServiceProtos();
    const pkg = grpcObject.envoy as unknown as { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
    this.client = new pkg.service.auth.v3.Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  }

  buildCheckRequest(req: GatewayRequest): CheckRequest {
    const isConnect = req.method === 'CONNECT';
    const protocol = req.protocol ?? 'HTTP/1.1';
    const headers: Record<string, string> = { ':authority': req.authority, ':method': req.method };
    if (!isConnect || protocol === 'HTTP/2') {
      headers[':path'] = req.path ?? '/';
      headers[':scheme'] = req.scheme ?? 'http';
    }
    // Envoy generates x-request-id unless the request carries one (generate_request_id).
    const given = Object.keys(req.headers ?? {}).find((k) => k.toLowerCase() === 'x-request-id');
    if (!given) headers['x-request-id'] = randomUUID();
    headers['x-forwarded-proto'] = req.scheme ?? 'http';
    headers['user-agent'] = 'curl/8.5.0';
    for (const [k, v] of Object.entries(req.headers ?? {})) {
      const key = k.toLowerCase();
      const value = Array.isArray(v) ? v.join(',') : v;
      headers[key] = key in headers && !key.startsWith(':') ? `${headers[key]},${value}` : value;
    }
    const now = Date.now();
    const http: NonNullable<NonNullable<NonNullable<CheckRequest['attributes']>['request']>['http']> = {
      id: String(this.streamId++),
      method: req.method,
      path: isConnect && protocol === 'HTTP/1.1' ? '' : (req.path ?? '/'),
      host: req.authority,
      scheme: isConnect ? '' : (req.scheme ?? 'http'),
      size: '0',
      protocol,
    };
    if (req.encodeRawHeaders) http.header_map = { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
    else http.headers = headers;
    return {
      attributes: {
        source: {
          address: { socket_address: { address: req.sourceAddress ?? '10.0.5.7', port_value: req.sourcePort ?? 41234 } },
          ...(req.peerPrincipal ? { principal: req.peerPrincipal } : {}),
        },
        destination: { address: { socket_address: { address: '10.0.0.2', port_value: 10000 } } },
        request: { time: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 }, http },
        context_extensions: req.contextExtensions ?? {},
      },
    } as CheckRequest;
  }

  /**
   * Builds the CheckRequest from the header map the HCM produced, the way check_request_utils.cc createHttpCheck does:
   * lower-case keys with pseudo-headers, repeated headers joined with ",", `host` = `:authority`, `path` with query,
   * `source.principal` only when the connection presented a verified client certificate.
   */
  buildCheckRequestFromHeaders(headers: Headers, conn: DownstreamConnection, opts: { encodeRawHeaders?: boolean; contextExtensions?: Record<string, string>; protocol?: string } = {}): CheckRequest {
    const map: Record<string, string> = {};
    for (const [k, v] of headers) {
      const key = k.toLowerCase();
      map[key] = key in map ? `${map[key]},${v}` : v;
    }
    const now = Date.now();
    const peer = (address: string, port: number, principal: string | undefined) => ({ address: { socket_address: { address, port_value: port } }, ...(principal ? { principal } : {}) });
    const http: NonNullable<NonNullable<NonNullable<CheckRequest['attributes']>['request']>['http']> = {
      id: String(this.streamId++),
      method: map[':method'] ?? '',
      path: map[':path'] ?? '',
      host: map[':authority'] ?? '',
      scheme: map[':scheme'] ?? '',
      size: map['content-length'] ?? '0',
      protocol: opts.protocol ?? 'HTTP/1.1',
    };
    if (opts.encodeRawHeaders) http.header_map = { headers: Object.entries(map).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
    else http.headers = map;
    return {
      attributes: {
        source: peer(conn.sourceAddress, conn.sourcePort, conn.peerPrincipal),
        destination: peer(conn.destinationAddress ?? '10.0.0.2', conn.destinationPort ?? 10000, conn.localPrincipal),
        request: { time: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 }, http },
        context_extensions: opts.contextExtensions ?? {},
      },
    } as CheckRequest;
  }

  /**
   * Runs the ext_authz filter over a header map: Check, then ext_authz.cc Filter::onComplete. A transport failure or
   * a gRPC error is an Error: `status_on_error` (default 403) unless `failureModeAllow`.
   */
  async filter(headers: Headers, conn: DownstreamConnection, cfg: { statusOnError?: number; failureModeAllow?: boolean; timeoutMs?: number; encodeRawHeaders?: boolean } = {}): Promise<AuthzFilterResult> {
    let res: CheckResponse;
    try {
      res = await this.checkRaw(this.buildCheckRequestFromHeaders(headers, conn, { encodeRawHeaders: cfg.encodeRawHeaders }), cfg.timeoutMs ?? 5000);
    } catch {
      if (cfg.failureModeAllow) return { status: 'ok', headers, dynamicMetadata: {}, ignored: [] };
      return { status: 'error', headers, localReply: { status: cfg.statusOnError ?? 403, headers: [], body: '' }, dynamicMetadata: {}, ignored: [] };
    }
    return applyCheckResponse(headers, res);
  }

  check(req: GatewayRequest): Promise<CheckOutcome> {
    return this.checkRaw(this.buildCheckRequest(req)).then(interpret);
  }

  /** Sends any object as a CheckRequest (for malformed-input tests); resolves with the raw response. */
  checkRaw(request: unknown, deadlineMs = 5000): Promise<CheckResponse> {
    return new Promise((resolve, reject) => {
      this.client.Check(request, grpcMetadata(this.initialMetadata), { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res as CheckResponse)));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Metadata for one call; async_client_impl.cc applies initial_metadata with OVERWRITE_IF_EXISTS_OR_ADD. */
export function grpcMetadata(pairs: Array<[string, string]>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) md.set(k.toLowerCase(), v);
  return md;
}

function interpret(res: CheckResponse): CheckOutcome {
  const code = res.status?.code ?? 0;
  const dynamicMetadata = dynamicMetadataOf(res);
  if (code === 0) {
    const headers: Record<string, string> = {};
    for (const h of res.ok_response?.headers ?? []) if (h.header?.key) headers[h.header.key] = h.header.value ?? '';
    return { allowed: true, grpcStatus: 0, headers, headersToRemove: res.ok_response?.headers_to_remove ?? [], dynamicMetadata, raw: res };
  }
  const denied = res.denied_response;
  const headers: Record<string, string> = {};
  for (const h of denied?.headers ?? []) if (h.header?.key) headers[h.header.key] = h.header.value ?? '';
  const status = denied?.status?.code;
  return { allowed: false, grpcStatus: code, headers, headersToRemove: [], dynamicMetadata, httpStatus: status ? (HTTP_STATUS[status] ?? 403) : 403, body: denied?.body, raw: res };
}

/** ext_authz_grpc_impl.cc onSuccess: the deprecated ok_response.dynamic_metadata wins over the outer field. */
function dynamicMetadataOf(res: CheckResponse): Record<string, unknown> {
  const inner = (res.ok_response as { dynamic_metadata?: ProtoStruct } | undefined)?.dynamic_metadata;
  const outer = (res as { dynamic_metadata?: ProtoStruct }).dynamic_metadata;
  return fromProtoStruct(inner ?? outer);
}

type MutationAction = 'set' | 'add' | 'append' | 'add_if_absent' | 'overwrite_if_exists';

/** ext_authz_grpc_impl.cc toHeaderMutationAction for request headers: `append` (deprecated) wins, else `append_action`. */
function actionOf(h: { append?: { value?: boolean }; append_action?: string | number }): MutationAction {
  if (h.append !== undefined) return h.append.value ? 'append' : 'set';
  switch (h.append_action ?? 'APPEND_IF_EXISTS_OR_ADD') {
    case 'ADD_IF_ABSENT':
    case 1:
      return 'add_if_absent';
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
    case 2:
      return 'set';
    case 'OVERWRITE_IF_EXISTS':
    case 3:
      return 'overwrite_if_exists';
    default:
      return 'add';
  }
}

/**
 * ext_authz.cc Filter::onComplete. OK: the header mutations in order (append only to an existing header, joined with
 * ","), then headers_to_remove LAST (`:`-headers and `host` are not removable: HeaderUtility::isRemovableHeader), and
 * dynamic_metadata stored under `envoy.filters.http.ext_authz`. Denied: a local reply with denied_response.status
 * (403 when unset), its headers and body.
 */
export function applyCheckResponse(headers: Headers, res: CheckResponse): AuthzFilterResult {
  const code = res.status?.code ?? 0;
  const dynamicMetadata = dynamicMetadataOf(res);
  if (code !== 0) {
    const denied = res.denied_response;
    const status = statusNumber(denied?.status?.code) || 403;
    const replyHeaders: Headers = (denied?.headers ?? []).filter((h) => h.header?.key).map((h) => [h.header!.key!.toLowerCase(), h.header!.value ?? '']);
    return { status: 'denied', headers, localReply: { status, headers: replyHeaders, body: denied?.body ?? '' }, dynamicMetadata, ignored: [], raw: res };
  }
  let out = headers.slice();
  const ignored: string[] = [];
  for (const h of res.ok_response?.headers ?? []) {
    const key = (h.header?.key ?? '').toLowerCase();
    const value = h.header?.value ?? '';
    if (!key) continue;
    const exists = out.some(([k]) => k === key);
    switch (actionOf(h as never)) {
      case 'set':
        out = [...out.filter(([k]) => k !== key), [key, value]];
        break;
      case 'add':
        out.push([key, value]);
        break;
      case 'add_if_absent':
        if (!exists) out.push([key, value]);
        break;
      case 'overwrite_if_exists':
        if (exists) out = [...out.filter(([k]) => k !== key), [key, value]];
        break;
      case 'append':
        // ext_authz.cc: "appending" a header that does not exist is dropped; an existing one gets ",value".
        if (exists) {
          const i = out.findIndex(([k]) => k === key);
          out[i] = [key, `${out[i]![1]},${value}`];
        } else ignored.push(`append ${key}`);
        break;
    }
  }
  for (const name of res.ok_response?.headers_to_remove ?? []) {
    const key = name.toLowerCase();
    if (key.startsWith(':') || key === 'host') {
      ignored.push(`remove ${key}`);
      continue;
    }
    out = out.filter(([k]) => k !== key);
  }
  return { status: 'ok', headers: out, dynamicMetadata, ignored, raw: res };
}
