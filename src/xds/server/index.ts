import type * as grpc from '@grpc/grpc-js';
import { encodeSotwResponse } from './encode.js';
import type { Logger } from 'pino';
import { serviceDefinition } from '../../proto/load.js';
import type { SnapshotCache } from '../cache/cache.js';
import type { XdsStatus } from '../status.js';
import { deltaHandler } from './delta.js';
import { sotwHandler } from './sotw.js';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Serves both ADS variants from the cache on an existing gRPC server (the one ext_authz uses, or its own). */
export function registerAds(server: grpc.Server, cache: SnapshotCache, status: XdsStatus, logger?: Logger): void {
  const deps = { cache, status, ...(logger ? { logger } : {}) };
  const definition = serviceDefinition(ADS_SERVICE);
  const sotw = definition.StreamAggregatedResources;
  if (!sotw) throw new Error(`${ADS_SERVICE} has no StreamAggregatedResources`);
  // SotW fan-out sends the same resources to every stream: each Any is encoded once, not once per stream.
  const withFastSotw = { ...definition, StreamAggregatedResources: { ...sotw, responseSerialize: encodeSotwResponse } };
  server.addService(withFastSotw as grpc.ServiceDefinition, {
    StreamAggregatedResources: sotwHandler(deps),
    DeltaAggregatedResources: deltaHandler(deps),
  });
}

export type { AdsDeps } from './stream.js';
