import type { Snapshot } from '../cache/snapshot.js';
import type { Resource } from '../types.js';
import { ProtoWriter } from '../wire.js';

/**
 * Response serialization for the fan-out. One snapshot goes to every stream, so the bytes are built once and shared:
 * each resource's `Any` (SotW) or `Resource` (delta) entry once per resource, a SotW body once per resource set, and
 * whole responses once per nonce. Field order and bytes are those of the generated serializers (protobufjs writes
 * fields by number), which test/xds/sotw-encoding.test.ts checks.
 */

/** A SotW response whose resources are written from per-resource bytes encoded once, not re-encoded per stream. */
export interface SotwWireResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: readonly Resource[];
}

/** A delta response written from per-resource bytes encoded once. */
export interface DeltaWireResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: readonly Resource[];
  removed_resources: readonly string[];
}

const writer = new ProtoWriter(4096);

/**
 * A response as its shared bytes (everything before the nonce: fields 1, 2 and 4, encoded once per snapshot and shared
 * by every stream) and this stream's nonce field. The two are joined only when grpc-js serializes it (registerAds's
 * responseSerialize), which it does just before copying into its framed buffer, so a stream never holds a whole copy
 * of its own before then. Valid only when nothing after the nonce (delta removed_resources, 6) is due.
 */
export class SharedResponse {
  constructor(
    readonly prefix: Buffer,
    readonly nonceField: Buffer,
  ) {}

  get length(): number {
    return this.prefix.length + this.nonceField.length;
  }

  bytes(): Buffer {
    return this.nonceField.length === 0 ? this.prefix : Buffer.concat([this.prefix, this.nonceField], this.length);
  }
}

/** What the ADS streams write: whole bytes, or a shared prefix and a nonce. */
export type EncodedResponse = Buffer | SharedResponse;

/** Per resource in a response: the Any/Resource envelope, type URL, name and version, besides the body. */
const ENTRY_OVERHEAD = 96;

/** About how many bytes a response carrying these resources is (write budget); memoized for the snapshot's Maps. */
const estimates = new WeakMap<object, number>();
export function estimateBytes(resources: ReadonlyMap<string, Resource> | readonly Resource[]): number {
  let n = estimates.get(resources);
  if (n === undefined) {
    n = 0;
    for (const r of resources.values()) n += r.body.length + ENTRY_OVERHEAD;
    if (!Array.isArray(resources)) estimates.set(resources, n);
  }
  return n;
}

function stringField(field: number, value: string): Buffer {
  return writer.reset().string(field, value).finish();
}

const anyFields = new WeakMap<Resource, Buffer>();

/** DiscoveryResponse.resources (2) entry: google.protobuf.Any { type_url = 1; value = 2 }, once per resource. */
function anyField(resource: Resource): Buffer {
  let bytes = anyFields.get(resource);
  if (!bytes) {
    const w = writer.reset();
    const any = w.begin(2);
    w.string(1, resource.typeUrl).bytes(2, resource.body);
    w.end(any);
    bytes = w.finish();
    anyFields.set(resource, bytes);
  }
  return bytes;
}

const deltaFields = new WeakMap<Resource, Buffer>();

/**
 * DeltaDiscoveryResponse.resources (2) entry: Resource { version = 1; resource = 2 (Any); name = 3 }, once per resource.
 * Every field is written, empty or not, as the generated serializer does for fields it is given.
 */
function deltaResourceField(resource: Resource): Buffer {
  let bytes = deltaFields.get(resource);
  if (!bytes) {
    const w = writer.reset();
    const entry = w.begin(2);
    w.string(1, resource.version);
    const any = w.begin(2);
    w.string(1, resource.typeUrl).bytes(2, resource.body);
    w.end(any);
    w.string(3, resource.name);
    w.end(entry);
    bytes = w.finish();
    deltaFields.set(resource, bytes);
  }
  return bytes;
}

/** DiscoveryResponse { version_info = 1; resources = 2; type_url = 4; nonce = 5 }, from pre-encoded resources. */
export function encodeSotwResponse(res: SotwWireResponse | EncodedResponse): Buffer {
  if (Buffer.isBuffer(res)) return res;
  if (res instanceof SharedResponse) return res.bytes();
  const chunks: Buffer[] = [];
  if (res.version_info) chunks.push(stringField(1, res.version_info));
  for (const r of res.resources) chunks.push(anyField(r));
  if (res.type_url) chunks.push(stringField(4, res.type_url));
  if (res.nonce) chunks.push(stringField(5, res.nonce));
  return Buffer.concat(chunks);
}

/** DeltaDiscoveryResponse { system_version_info = 1; resources = 2; type_url = 4; nonce = 5; removed_resources = 6 }. */
export function encodeDeltaResponse(res: DeltaWireResponse | EncodedResponse): Buffer {
  if (Buffer.isBuffer(res)) return res;
  if (res instanceof SharedResponse) return res.bytes();
  const chunks: Buffer[] = [];
  if (res.system_version_info) chunks.push(stringField(1, res.system_version_info));
  for (const r of res.resources) chunks.push(deltaResourceField(r));
  if (res.type_url) chunks.push(stringField(4, res.type_url));
  if (res.nonce) chunks.push(stringField(5, res.nonce));
  for (const name of res.removed_resources) chunks.push(stringField(6, name));
  return Buffer.concat(chunks);
}

/** Whole responses kept per shared part and nonce: streams in step (same history) get the very same bytes. */
const NONCES_KEPT = 4;

interface SharedSotw {
  /** version_info, resources and type_url: everything before the nonce. */
  prefix: Buffer;
  byNonce: Map<string, Buffer>;
}

/** By resource set (the snapshot's own map for wildcard streams, shared across streams), then version and type. */
const sotwShared = new WeakMap<ReadonlyMap<string, Resource>, Map<string, SharedSotw>>();

function withNonce(shared: SharedSotw, nonce: string): EncodedResponse {
  let body = shared.byNonce.get(nonce);
  if (!body) {
    if (shared.byNonce.size >= NONCES_KEPT) return new SharedResponse(shared.prefix, nonce ? stringField(5, nonce) : Buffer.alloc(0));
    body = nonce ? Buffer.concat([shared.prefix, stringField(5, nonce)]) : shared.prefix;
    shared.byNonce.set(nonce, body);
  }
  return body;
}

/**
 * The encoded SotW response for a resource set, built once per (set, version, type) and shared by every stream that
 * sends the same set (same bytes as encodeSotwResponse). Pass the same Map object for the same set to share it.
 */
export function sotwResponseBytes(version: string, typeUrl: string, resources: ReadonlyMap<string, Resource>, nonce: string): EncodedResponse {
  let byKey = sotwShared.get(resources);
  if (!byKey) sotwShared.set(resources, (byKey = new Map()));
  const key = `${version.length}:${version}${typeUrl}`;
  let shared = byKey.get(key);
  if (!shared) {
    shared = { prefix: encodeSotwResponse({ version_info: version, type_url: typeUrl, nonce: '', resources: [...resources.values()] }), byNonce: new Map() };
    byKey.set(key, shared);
  }
  return withNonce(shared, nonce);
}

/** Delta responses by snapshot (resources come from it by name, so names identify them), then content. */
const deltaShared = new WeakMap<Snapshot, Map<string, Buffer>>();
const DELTA_SHARED_MAX_NAMES = 16;
const DELTA_SHARED_PER_SNAPSHOT = 64;

/** Whether `resources` is every resource the snapshot has of the type, in the snapshot's order (a first sync). */
function isWholeSet(snapshot: Snapshot, typeUrl: string, resources: readonly Resource[]): boolean {
  const all = snapshot.resources(typeUrl);
  if (all.size !== resources.length) return false;
  let i = 0;
  for (const r of all.values()) if (resources[i++] !== r) return false;
  return true;
}

/**
 * The encoded delta response. Responses naming few resources (the usual update) are built once per snapshot and
 * shared by every stream sending the same one; a response carrying every resource of the type (a first sync, ~10 MB
 * at 10,000 destinations) is encoded once per snapshot and type, and each stream adds only its nonce. Anything else
 * is encoded for the stream from the resources' shared entries. `resources` must be the snapshot's resources of
 * `typeUrl`.
 */
export function deltaResponseBytes(snapshot: Snapshot, typeUrl: string, resources: readonly Resource[], removed: readonly string[], nonce: string): EncodedResponse {
  const response = { system_version_info: snapshot.version, type_url: typeUrl, nonce, resources, removed_resources: removed };
  let bySnapshot = deltaShared.get(snapshot);
  if (!bySnapshot) deltaShared.set(snapshot, (bySnapshot = new Map()));
  if (resources.length + removed.length > DELTA_SHARED_MAX_NAMES) {
    if (removed.length > 0 || !isWholeSet(snapshot, typeUrl, resources)) return encodeDeltaResponse(response);
    // \u0000 cannot start a small response's key (which starts with the type URL's length).
    const key = `\u0000${typeUrl}`;
    let prefix = bySnapshot.get(key);
    if (!prefix) bySnapshot.set(key, (prefix = encodeDeltaResponse({ ...response, nonce: '' })));
    return new SharedResponse(prefix, nonce ? stringField(5, nonce) : Buffer.alloc(0));
  }
  // Length-prefixed: names come from clients and may contain any character.
  let key = `${typeUrl.length}:${typeUrl}${nonce.length}:${nonce}${resources.length}:`;
  for (const r of resources) key += `${r.name.length}:${r.name}`;
  for (const name of removed) key += `${name.length}:${name}`;
  let body = bySnapshot.get(key);
  if (!body) {
    body = encodeDeltaResponse(response);
    if (bySnapshot.size < DELTA_SHARED_PER_SNAPSHOT) bySnapshot.set(key, body);
  }
  return body;
}
