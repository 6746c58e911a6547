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
  const head = headBytes(headersToRemove);
  const fields = metadata.fields ?? {};
  // Sizes first (lengths are varints, so each nested message's size must be known before its bytes).
  let n = 0;
  let structLen = 0;
  for (const k in fields) {
    const key = keyBytes(k);
    const vLen = Buffer.byteLength(fields[k]?.stringValue ?? '');
    const valueLen = fieldLen(vLen);
    const entryLen = key.length + fieldLen(valueLen);
    scratch[n++] = vLen;
    scratch[n++] = entryLen;
    structLen += fieldLen(entryLen);
  }
  const buf = Buffer.allocUnsafe(head.length + fieldLen(structLen));
  let at = head.copy(buf, 0);
  at = tag(buf, at, 0x22, structLen);
  n = 0;
  for (const k in fields) {
    const vLen = scratch[n++]!;
    at = tag(buf, at, 0x0a, scratch[n++]!);
    at += keyBytes(k).copy(buf, at);
    at = tag(buf, at, 0x12, fieldLen(vLen));
    at = tag(buf, at, 0x1a, vLen);
    at += buf.write(fields[k]?.stringValue ?? '', at, 'utf8');
  }
  return buf;
}

/** Value and entry sizes of the Struct being written (encoding is synchronous, so one array serves every call). */
const scratch: number[] = [];

/** `status` and `ok_response` bytes per headers_to_remove list (one list per signed-header name, never mutated). */
const heads = new WeakMap<readonly string[], Buffer>();

function headBytes(headersToRemove: readonly string[]): Buffer {
  let head = heads.get(headersToRemove);
  if (!head) {
    let okLen = 0;
    for (const h of headersToRemove) okLen += fieldLen(Buffer.byteLength(h));
    head = Buffer.alloc(4 + fieldLen(okLen));
    // status { code: 0 }
    head.set([0x0a, 0x02, 0x08, 0x00]);
    let at = tag(head, 4, 0x1a, okLen);
    for (const h of headersToRemove) at = str(head, at, 0x2a, h);
    heads.set(headersToRemove, head);
  }
  return head;
}

/** A map entry's key field (`0a len key`), per Struct key: the keys are Tollgate's own few names. */
const keys = new Map<string, Buffer>();

function keyBytes(k: string): Buffer {
  let b = keys.get(k);
  if (!b) {
    b = Buffer.alloc(fieldLen(Buffer.byteLength(k)));
    str(b, 0, 0x0a, k);
    if (keys.size < 64) keys.set(k, b);
  }
  return b;
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
