/**
 * The floor for the ext_proc benchmark: the same stack as Tollgate (@grpc/grpc-js, proto-loader service
 * definition, so messages are decoded and replies encoded the same way) doing no scrubbing at all. It
 * answers request_headers with CONTINUE and a mode_override to BUFFERED (as Tollgate does for a
 * scannable JSON body), request_body with CONTINUE (no mutation), and anything else with CONTINUE for
 * its kind. Listens on 127.0.0.1:<port|0>; prints `listening <port>` on stdout.
 *
 *   node --import tsx bench/extproc/noop-server.ts [port]
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/proto/load.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/proto/gen/envoy/service/ext_proc/v3/external_processor.js';

const HEADERS_REPLY = { request_headers: { response: {} }, mode_override: { request_body_mode: 'BUFFERED' } } as unknown as ProcessingResponse;
const BODY_REPLY = { request_body: { response: {} } } as ProcessingResponse;

const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
server.addService(serviceDefinition('envoy.service.ext_proc.v3.ExternalProcessor'), {
  Process(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) {
    call.on('data', (req: ProcessingRequest) => {
      if (req.request_headers) call.write(HEADERS_REPLY);
      else if (req.request_body) call.write(BODY_REPLY);
      else if (req.request_trailers) call.write({ request_trailers: {} } as ProcessingResponse);
      else if (req.response_headers) call.write({ response_headers: { response: {} } } as ProcessingResponse);
      else if (req.response_body) call.write({ response_body: { response: {} } } as ProcessingResponse);
      else if (req.response_trailers) call.write({ response_trailers: {} } as ProcessingResponse);
    });
    call.on('end', () => call.end());
    call.on('error', () => {}); // Envoy resets finished streams (CANCELLED); not an error here
  },
});

const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`127.0.0.1:${process.argv[2] ?? '0'}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
console.log(`listening ${port}`);

const stop = () => server.tryShutdown(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
