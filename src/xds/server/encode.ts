import protobuf from 'protobufjs';
import type { Resource } from '../types.js';

/** A SotW response whose resources are written from per-resource bytes encoded once, not re-encoded per stream. */
export interface SotwWireResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: readonly Resource[];
}

const anyBytes = new WeakMap<Resource, Uint8Array>();

// google.protobuf.Any { type_url = 1; value = 2 }, encoded once per resource and shared by every stream.
function encodedAny(resource: Resource): Uint8Array {
  let bytes = anyBytes.get(resource);
  if (!bytes) {
    bytes = protobuf.Writer.create().uint32((1 << 3) | 2).string(resource.typeUrl).uint32((2 << 3) | 2).bytes(resource.body).finish();
    anyBytes.set(resource, bytes);
  }
  return bytes;
}

/** DiscoveryResponse { version_info = 1; resources = 2; type_url = 4; nonce = 5 }, from pre-encoded resources. */
export function encodeSotwResponse(res: SotwWireResponse): Buffer {
  const w = protobuf.Writer.create();
  if (res.version_info) w.uint32((1 << 3) | 2).string(res.version_info);
  for (const r of res.resources) w.uint32((2 << 3) | 2).bytes(encodedAny(r));
  if (res.type_url) w.uint32((4 << 3) | 2).string(res.type_url);
  if (res.nonce) w.uint32((5 << 3) | 2).string(res.nonce);
  const out = w.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
