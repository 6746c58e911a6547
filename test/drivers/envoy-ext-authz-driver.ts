import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { loadServiceProtos } from '../../src/proto/load.js';
import type { CheckRequest, CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';

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
  private readonly client: grpc.Client & { Check: (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void };
  private streamId = 1000;

  constructor(port: number) {
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

  check(req: GatewayRequest): Promise<CheckOutcome> {
    return this.checkRaw(this.buildCheckRequest(req)).then(interpret);
  }

  /** Sends any object as a CheckRequest (for malformed-input tests); resolves with the raw response. */
  checkRaw(request: unknown, deadlineMs = 5000): Promise<CheckResponse> {
    return new Promise((resolve, reject) => {
      this.client.Check(request, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res as CheckResponse)));
    });
  }

  close(): void {
    this.client.close();
  }
}

function interpret(res: CheckResponse): CheckOutcome {
  const code = res.status?.code ?? 0;
  if (code === 0) {
    const headers: Record<string, string> = {};
    for (const h of res.ok_response?.headers ?? []) if (h.header?.key) headers[h.header.key] = h.header.value ?? '';
    return { allowed: true, grpcStatus: 0, headers, headersToRemove: res.ok_response?.headers_to_remove ?? [], raw: res };
  }
  const denied = res.denied_response;
  const headers: Record<string, string> = {};
  for (const h of denied?.headers ?? []) if (h.header?.key) headers[h.header.key] = h.header.value ?? '';
  const status = denied?.status?.code;
  return { allowed: false, grpcStatus: code, headers, headersToRemove: [], httpStatus: status ? (HTTP_STATUS[status] ?? 403) : 403, body: denied?.body, raw: res };
}
