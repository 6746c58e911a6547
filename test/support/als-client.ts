import * as grpc from '@grpc/grpc-js';
import { loadServiceProtos } from '../../src/proto/load.js';

/** Streams access log entries the way Envoy's gRPC access logger does: identifier first, then batches. */
export function sendAccessLogs(grpcPort: number, entries: unknown[]): Promise<void> {
  const { grpcObject } = loadServiceProtos();
  const Ctor = (grpcObject.envoy as never as { service: { accesslog: { v3: { AccessLogService: grpc.ServiceClientConstructor } } } }).service.accesslog.v3.AccessLogService;
  const client = new Ctor(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { StreamAccessLogs: (cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown> };
  return new Promise((resolve, reject) => {
    const call = client.StreamAccessLogs((err) => {
      client.close();
      if (err) reject(err);
      else resolve();
    });
    call.write({ identifier: { node: { id: 'gw-1', cluster: 'egress-gateway' }, log_name: 'tollgate' }, http_logs: { log_entry: entries.slice(0, 1) } });
    if (entries.length > 1) call.write({ http_logs: { log_entry: entries.slice(1) } });
    call.end();
  });
}
