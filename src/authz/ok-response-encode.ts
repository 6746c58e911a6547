import type { StructMessage } from '../proto/struct.js';

/**
 * The OK CheckResponse, written as protobuf bytes by hand: every allowed Check sends one, and proto-loader's
 * serializer (`fromObject` over the Struct wrapper, then `encode`) cost 6.9% of a Check's CPU in the bench profile.
 * The bytes are exactly protobufjs's for the same message (test/authz/ok-response-encode.test.ts): fields in number
 * order, status.code written even though it is 0, map entries in insertion order.
 *
 *   CheckResponse { status = 1: Status { code = 1 }, ok_response = 3: OkHttpResponse { headers_to_remove = 5 },
 *                   dynamic_metadata = 4: Struct { fields = 1: map<string, Value { string_value = 3 }> } }
 */
export function encodeOkResponse(headersToRemove: readonly string[], metadata: StructMessage): Buffer {
  const fields = metadata.fields ?? {};
  const keys = Object.keys(fields);
  // Sizes first (lengths are varints, so each nested message's size must be known before its bytes).
  let okLen = 0;
  for (const h of headersToRemove) okLen += fieldLen(Buffer.byteLength(h));
  let structLen = 0;
  const entryLens: number[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = fields[k]?.stringValue ?? '';
    const valueLen = fieldLen(Buffer.byteLength(v));
    const entryLen = fieldLen(Buffer.byteLength(k)) + fieldLen(valueLen);
    entryLens[i] = entryLen;
    structLen += fieldLen(entryLen);
  }
  const total = 4 + fieldLen(okLen) + fieldLen(structLen);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  // status { code: 0 }
  buf[at++] = 0x0a;
  buf[at++] = 0x02;
  buf[at++] = 0x08;
  buf[at++] = 0x00;
  at = tag(buf, at, 0x1a, okLen);
  for (const h of headersToRemove) at = str(buf, at, 0x2a, h);
  at = tag(buf, at, 0x22, structLen);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = fields[k]?.stringValue ?? '';
    at = tag(buf, at, 0x0a, entryLens[i]!);
    at = str(buf, at, 0x0a, k);
    at = tag(buf, at, 0x12, fieldLen(Buffer.byteLength(v)));
    at = str(buf, at, 0x1a, v);
  }
  return buf;
}

/** Bytes of a length-delimited field with a one-byte tag and `len` bytes of content. */
function fieldLen(len: number): number {
  return 1 + varintLen(len) + len;
}

function varintLen(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n >>>= 7;
    len++;
  }
  return len;
}

function tag(buf: Buffer, at: number, t: number, len: number): number {
  buf[at++] = t;
  while (len >= 0x80) {
    buf[at++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  buf[at++] = len;
  return at;
}

function str(buf: Buffer, at: number, t: number, s: string): number {
  const at2 = tag(buf, at, t, Buffer.byteLength(s));
  return at2 + buf.write(s, at2, 'utf8');
}
