import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_INCLUDE_DIRS } from '../proto/paths.js';
import type { ProcessingRequest, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';

/**
 * The ext_proc wire codec: the same protobufjs types proto-loader builds (keepCase, so field names are the .proto's),
 * minus two per-message copies on the hot path.
 *
 * - Requests are protobufjs's decoded messages as they are, without proto-loader's `toObject` copy of every header and
 *   Struct. Field names and values are the same for what the processor reads (messages, strings, bools, bytes as a
 *   Buffer); unset message fields read as null and unset bytes as an empty array (the processor treats both as absent).
 * - Replies that never vary (CONTINUE to a body, the mode_override to BUFFERED, ...) are encoded once at start-up
 *   (`constantReply`) and their bytes reused; any other reply goes through `fromObject` + `encode` as before.
 */
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => {
  for (const dir of PROTO_INCLUDE_DIRS) {
    const candidate = join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return target;
};
root.loadSync('envoy/service/ext_proc/v3/external_processor.proto', { keepCase: true });
root.resolveAll();
const REQUEST = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
const RESPONSE = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');

const encoded = new WeakMap<object, Uint8Array>();

export function decodeRequest(buf: Buffer): ProcessingRequest {
  return REQUEST.decode(buf) as unknown as ProcessingRequest;
}

export function encodeResponse(res: ProcessingResponse): Uint8Array {
  return encoded.get(res) ?? RESPONSE.encode(RESPONSE.fromObject(res)).finish();
}

/** A reply sent as is to many streams: frozen, and encoded once. */
export function constantReply(res: ProcessingResponse): ProcessingResponse {
  const frozen = Object.freeze(res);
  encoded.set(frozen, RESPONSE.encode(RESPONSE.fromObject(frozen)).finish());
  return frozen;
}
