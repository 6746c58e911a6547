import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_INCLUDE_DIRS } from '../proto/paths.js';
import type { ProcessingRequest, ProcessingResponse } from '../proto/gen/envoy/service/ext_proc/v3/external_processor.js';
import { setHeader } from './messages.js';

/**
 * The ext_proc wire codec: the same protobufjs types proto-loader builds (keepCase, so field names are the .proto's),
 * minus two per-message copies on the hot path.
 *
 * - Requests are protobufjs's decoded messages as they are, without proto-loader's `toObject` copy of every header and
 *   Struct. Field names and values are the same for what the processor reads (messages, strings, bools, bytes as a
 *   Buffer); unset message fields read as null and unset bytes as an empty array (the processor treats both as absent).
 * - Replies that never vary (CONTINUE to a body, the mode_override to BUFFERED, ...) are encoded once at start-up
 *   (`constantReply`) and their bytes reused; a replaced body (`replacedBodyReply`) is written as UTF-8 straight
 *   into the reply, without a Buffer of it first; any other reply goes through `fromObject` + `encode` as before.
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

/** Field numbers from the loaded descriptors (not copied by hand). */
const id = (type: string, field: string) => root.lookupType(`envoy.${type}`).fields[field]!.id;
const LEN = 2; // wire type of messages, strings and bytes
const tag = (fieldId: number) => (fieldId << 3) | LEN;
const T = {
  requestBody: tag(id('service.ext_proc.v3.ProcessingResponse', 'request_body')),
  response: tag(id('service.ext_proc.v3.BodyResponse', 'response')),
  headerMutation: tag(id('service.ext_proc.v3.CommonResponse', 'header_mutation')),
  bodyMutation: tag(id('service.ext_proc.v3.CommonResponse', 'body_mutation')),
  setHeaders: tag(id('service.ext_proc.v3.HeaderMutation', 'set_headers')),
  header: tag(id('config.core.v3.HeaderValueOption', 'header')),
  key: tag(id('config.core.v3.HeaderValue', 'key')),
  rawValue: tag(id('config.core.v3.HeaderValue', 'raw_value')),
  body: tag(id('service.ext_proc.v3.BodyMutation', 'body')),
};

export function decodeRequest(buf: Buffer): ProcessingRequest {
  return REQUEST.decode(buf) as unknown as ProcessingRequest;
}

export function encodeResponse(res: ProcessingResponse): Uint8Array {
  return encoded.get(res) ?? RESPONSE.encode(RESPONSE.fromObject(res)).finish();
}

/** A reply sent as is to many streams: frozen all the way down (its bytes cannot follow a change), and encoded once. */
export function constantReply(res: ProcessingResponse): ProcessingResponse {
  const frozen = deepFreeze(res);
  encoded.set(frozen, RESPONSE.encode(RESPONSE.fromObject(frozen)).finish());
  return frozen;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * CONTINUE to a buffered body with the body replaced by `text` and content-length set to its UTF-8 length: Envoy
 * requires the processor to set it in BUFFERED mode with headers SEND (envoy#28515). The same bytes `encodeResponse`
 * would produce for the object returned (whose `body` is only made if something reads it).
 */
export function replacedBodyReply(text: string): ProcessingResponse {
  const length = String(Buffer.byteLength(text, 'utf8'));
  const w = protobuf.Writer.create();
  w.uint32(T.requestBody).fork().uint32(T.response).fork();
  w.uint32(T.headerMutation).fork().uint32(T.setHeaders).fork().uint32(T.header).fork();
  w.uint32(T.key).string('content-length').uint32(T.rawValue).string(length);
  w.ldelim().ldelim().ldelim();
  // bytes and string share a wire form; protobufjs writes short strings with its own encoder, which keeps a lone
  // surrogate as is where Buffer writes U+FFFD, so short texts go through a Buffer.
  w.uint32(T.bodyMutation).fork().uint32(T.body);
  if (text.length < 64) w.bytes(Buffer.from(text, 'utf8'));
  else w.string(text);
  w.ldelim().ldelim().ldelim();
  const res = {
    request_body: {
      response: {
        header_mutation: { set_headers: [setHeader('content-length', length)] },
        body_mutation: {
          get body() {
            return Buffer.from(text, 'utf8');
          },
        },
      },
    },
  } as ProcessingResponse;
  encoded.set(res, w.finish());
  return res;
}
