import * as grpc from '@grpc/grpc-js';
import type { CallerCheck } from '../auth/envoy-token.js';
import { ENVOY_TOKEN_HEADER } from '../xds/resources/names.js';
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import { pathTemplate } from '../events/path-template.js';
import { storedRequestId } from '../scrub/path.js';
import type { AccessEvent } from '../events/types.js';
import { parseAuthority } from '../policy/host.js';
import type { HTTPAccessLogEntry } from '../proto/gen/envoy/data/accesslog/v3/accesslog.js';
import type { StreamAccessLogsMessage, StreamAccessLogsResponse } from '../proto/gen/envoy/service/accesslog/v3/als.js';
import { serviceDefinition } from '../proto/load.js';
import type { RequestJoin } from './request-join.js';
import { EXT_AUTHZ_NAMESPACE, METADATA_KEYS } from '../authz/check-response.js';
import { structString } from '../proto/struct.js';

type Duration = { seconds?: string | number; nanos?: number } | undefined;
const ms = (d: Duration) => (d ? Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6 : undefined);
/** Wrappers arrive as `{value}` from proto-loader even though the generated type says number. */
const unwrap = (v: unknown): number => (typeof v === 'object' && v !== null ? Number((v as { value?: unknown }).value ?? 0) : Number(v ?? 0));

/** One Envoy HTTP access log entry → an access event, joined to its decision by x-request-id. */
export function accessEvent(entry: HTTPAccessLogEntry, join: RequestJoin, gateway?: string): AccessEvent {
  const req = entry.request ?? {};
  const common = entry.common_properties ?? {};
  // Stored, and set by the workload: kept only when it cannot carry a value (same rule as ext_authz, so they still join).
  const requestId = storedRequestId(req.request_id || undefined);
  const joined = join.take(requestId);
  // The router has already removed x-tollgate-* from the header map the logger reads; ext_authz's dynamic metadata is
  // always in the entry (grpc_access_log_utils.cc `extractCommonAccessLogProperties`).
  const authz = (common.metadata as { filter_metadata?: Record<string, unknown> } | undefined)?.filter_metadata?.[EXT_AUTHZ_NAMESPACE];
  const authority = parseAuthority(req.authority ?? '');
  const start = ms(common.time_to_last_upstream_tx_byte as Duration);
  const firstByte = ms(common.time_to_first_upstream_rx_byte as Duration);
  const startTime = common.start_time as { seconds?: string | number; nanos?: number } | undefined;
  return {
    kind: 'access',
    time: startTime ? new Date(Number(startTime.seconds ?? 0) * 1000 + (startTime.nanos ?? 0) / 1e6).toISOString() : new Date().toISOString(),
    request_id: requestId,
    decision_id: joined?.decision_id ?? structString(authz, METADATA_KEYS.decisionId),
    identity: joined?.identity ?? structString(authz, METADATA_KEYS.identity) ?? 'unknown',
    destination: joined?.destination ?? (authority ? `${authority.host}:${authority.port ?? 'default'}` : '(unknown)'),
    method: joined?.method ?? String(req.request_method ?? ''),
    path_template: joined?.path_template ?? pathTemplate(req.path ?? '/'),
    status: unwrap(entry.response?.response_code),
    bytes_sent: Number(req.request_headers_bytes ?? 0) + Number(req.request_body_bytes ?? 0),
    bytes_received: Number(entry.response?.response_headers_bytes ?? 0) + Number(entry.response?.response_body_bytes ?? 0),
    ...(start !== undefined && firstByte !== undefined ? { upstream_latency_ms: Math.max(0, firstByte - start) } : {}),
    ...(gateway ? { gateway } : {}),
  };
}

/** `envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`: Envoy's gRPC access logs become events. */
export function registerAccessLog(server: grpc.Server, bus: EventBus, join: RequestJoin, log: Logger, caller: CallerCheck = () => true): void {
  server.addService(serviceDefinition('envoy.service.accesslog.v3.AccessLogService'), {
    StreamAccessLogs(call: grpc.ServerReadableStream<StreamAccessLogsMessage, StreamAccessLogsResponse>, callback: grpc.sendUnaryData<StreamAccessLogsResponse>) {
      // Access logs land in the hash-chained audit log and the inventory: only our gateways may write them.
      if (!caller(call.metadata)) {
        log.warn({ peer: call.getPeer() }, 'access log stream refused: no valid Envoy token');
        callback({ code: grpc.status.UNAUTHENTICATED, details: `a valid ${ENVOY_TOKEN_HEADER} is required (TOLLGATE_ENVOY_TOKEN)` });
        return;
      }
      // Envoy names its node in the first message of a stream only (als.proto StreamAccessLogsMessage.identifier).
      let gateway: string | undefined;
      call.on('data', (msg: StreamAccessLogsMessage) => {
        try {
          gateway ??= msg.identifier?.node?.id?.slice(0, 256) || undefined;
          for (const entry of msg.http_logs?.log_entry ?? []) bus.publish(accessEvent(entry, join, gateway));
        } catch (err) {
          log.warn({ err }, 'access log entry could not be read');
        }
      });
      call.on('end', () => callback(null, {}));
      call.on('error', () => undefined);
    },
  });
}
