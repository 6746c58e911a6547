import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

// The Envoy API protos ship inside @grpc/grpc-js-xds (deps/); nothing is copied into this repo.
const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
// google/protobuf/*.proto (descriptor, any, struct, ...) ship with protobufjs.
const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));

export const PROTO_INCLUDE_DIRS: readonly string[] = [
  join(xdsDeps, 'envoy-api'),
  join(xdsDeps, 'xds'),
  join(xdsDeps, 'googleapis'),
  join(xdsDeps, 'protoc-gen-validate'),
  protobufjsDir,
];
