/**
 * The floor for the Check benchmark: the same stack as Tollgate (@grpc/grpc-js, proto-loader service
 * definition, so requests are decoded and responses encoded the same way) answering every Check with a
 * fixed OK that has the shape and size of Tollgate's allow. Listens on 127.0.0.1:<port|0>; prints
 * `listening <port>` on stdout.
 *
 *   node --import tsx bench/authz/noop-server.ts [port]
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/proto/load.js';
import type { CheckRequest, CheckResponse } from '../../src/proto/gen/envoy/service/auth/v3/external_auth.js';

// Tollgate's allow as it is today: headers to strip, and the decision in dynamic metadata (a google.protobuf.Struct,
// which proto-loader writes through protobufjs's Struct wrapper), 202 bytes like Tollgate's for the bench request.
const OK: CheckResponse = {
  status: { code: 0 },
  ok_response: { headers_to_remove: ['x-tollgate-identity', 'x-tollgate-decision-id'] },
  dynamic_metadata: {
    fields: {
      decision_id: { stringValue: '00000000-0000-4000-8000-000000000000' },
      identity: { stringValue: 'billing' },
      identity_source: { stringValue: 'mtls' },
      verdict: { stringValue: 'allow' },
      policy_version: { stringValue: '1' },
    },
  },
} as unknown as CheckResponse;

const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
server.addService(serviceDefinition('envoy.service.auth.v3.Authorization'), {
  Check(_call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) {
    callback(null, OK);
  },
});

const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`127.0.0.1:${process.argv[2] ?? '0'}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
console.log(`listening ${port}`);

const stop = () => server.tryShutdown(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
