import * as grpc from '@grpc/grpc-js';
import { encodeDeltaResponse, encodeSotwResponse } from './encode.js';
import type { Logger } from 'pino';
import { serviceDefinition } from '../../proto/load.js';
import type { SnapshotCache } from '../cache/cache.js';
import type { XdsStatus } from '../status.js';
import { deltaHandler } from './delta.js';
import { sotwHandler } from './sotw.js';
import { PushQueue, type AdsDeps } from './stream.js';
import { WriteBudget } from './write-budget.js';
import { refuse, type CallerCheck } from '../../auth/envoy-token.js';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Serves both ADS variants from the cache on an existing gRPC server (the one ext_authz uses, or its own). */
/** What the server can do with its ADS streams as a whole. */
export interface AdsHandle {
  /** Ends every open stream with UNAVAILABLE and a reason, so each Envoy reconnects (to another replica) at once. */
  drain(): void;
}

export function registerAds(server: grpc.Server, cache: SnapshotCache, status: XdsStatus, logger?: Logger, caller: CallerCheck = () => true, onLimit?: AdsDeps['onLimit']): AdsHandle {
  const pushes = new PushQueue();
  // A stream woken by the write budget is pushed with the large ones (it was held back for its size).
  const writes = new WriteBudget(undefined, undefined, (stream) => pushes.add(stream));
  const deps: AdsDeps = { cache, status, pushes, writes, ...(logger ? { logger } : {}), ...(onLimit ? { onLimit } : {}) };
  const definition = serviceDefinition(ADS_SERVICE);
  const sotw = definition.StreamAggregatedResources;
  const delta = definition.DeltaAggregatedResources;
  if (!sotw || !delta) throw new Error(`${ADS_SERVICE} is missing a method`);
  // The fan-out sends the same resources to every stream: the streams write responses encoded once and shared.
  const withFastEncoding = {
    ...definition,
    StreamAggregatedResources: { ...sotw, responseSerialize: encodeSotwResponse },
    DeltaAggregatedResources: { ...delta, responseSerialize: encodeDeltaResponse },
  };
  // ADS can carry the gateway's TLS private key (SDS), so only callers with the Envoy token get a stream.
  const open = new Set<grpc.ServerDuplexStream<never, never>>();
  const guarded =
    (handler: (call: grpc.ServerDuplexStream<never, never>) => void): grpc.handleBidiStreamingCall<never, never> =>
    (call) => {
      if (!caller(call.metadata)) {
        logger?.warn({ peer: call.getPeer() }, 'ADS stream refused: no valid Envoy token');
        refuse(call);
        return;
      }
      open.add(call);
      const forget = () => open.delete(call);
      call.on('close', forget).on('cancelled', forget).on('error', forget).on('finish', forget);
      handler(call);
    };
  server.addService(withFastEncoding as grpc.ServiceDefinition, {
    StreamAggregatedResources: guarded(sotwHandler(deps) as never),
    DeltaAggregatedResources: guarded(deltaHandler(deps) as never),
  });
  return {
    drain() {
      // ADS streams never end on their own; without this a shutdown waits, then cuts them with CANCELLED.
      for (const call of [...open]) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'tollgate is shutting down; reconnect to another replica', metadata: new grpc.Metadata() });
      open.clear();
    },
  };
}

export type { AdsDeps } from './stream.js';
