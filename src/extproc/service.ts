import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ScrubSink } from '../audit/scrub-log.js';
import type { PolicyManager } from '../engine/policy-manager.js';
import type { Metrics } from '../metrics/registry.js';
import type { ProcessingRequest, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { serviceDefinition } from '../proto/load.js';
import { decodeRequest, encodeResponse } from './codec.js';
import { ProtocolError, RequestProcessor } from './processor.js';

export interface ExtProcDeps {
  policies: PolicyManager;
  sink: ScrubSink;
  log: Logger;
  metrics?: Pick<Metrics, 'extprocStreamSeconds' | 'limitRejections'>;
}

/**
 * `envoy.service.ext_proc.v3.ExternalProcessor/Process`: one stream per HTTP request, one reply per
 * message, in order. A malformed or out-of-order message ends the stream with INVALID_ARGUMENT (Envoy
 * then applies status_on_error); Envoy usually ends a good stream with a reset, which is not an error.
 */
export function registerExtProc(server: grpc.Server, deps: ExtProcDeps): void {
  const definition = serviceDefinition('envoy.service.ext_proc.v3.ExternalProcessor');
  // proto-loader's method definition with the lean codec (codec.ts): same wire format, fewer copies per message.
  const Process = { ...definition.Process!, requestDeserialize: decodeRequest, responseSerialize: encodeResponse } as grpc.MethodDefinition<ProcessingRequest, ProcessingResponse>;
  server.addService({ Process }, {
    Process(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) {
      // The policy version is pinned for the whole stream, so a reload never splits a request.
      const processor = new RequestProcessor(deps.policies.current);
      const endTimer = deps.metrics?.extprocStreamSeconds.startTimer();
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        endTimer?.();
        if (processor.limitExceeded) deps.metrics?.limitRejections.inc({ limit: processor.limitExceeded });
        deps.sink.record(processor.record());
      };
      call.on('data', (req: ProcessingRequest) => {
        if (finished) return;
        try {
          const res = processor.handle(req);
          if (res) call.write(res);
        } catch (err) {
          const protocol = err instanceof ProtocolError;
          deps.log.warn({ err: protocol ? (err as Error).message : err }, 'ext_proc stream ended with an error');
          finish();
          call.emit('error', { code: protocol ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: protocol ? (err as Error).message : 'internal error while scrubbing' });
        }
      });
      call.on('end', () => {
        finish();
        call.end();
      });
      call.on('cancelled', finish);
      call.on('error', finish);
    },
  });
}
