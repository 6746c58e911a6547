import type protobuf from 'protobufjs';
import { lookupMessageType, typeNameFromUrl } from '../envoy-config.js';
import { checkMessage, parseEnum, type CheckOptions } from './check.js';
import { parseDuration, type SecondsNanos } from './duration.js';
import { planFor, type ElementKind, type FieldPlan, type MessagePlan } from './plan.js';
import { formatProblems, type Problem } from './problem.js';
import { Invalid, isScalarDefault, parseScalar, type ScalarType, type ScalarValue } from './scalars.js';
import { parseTimestamp } from './timestamp.js';
import { isPlainObject, isValueWrappedInAny, valueFieldNames } from './well-known.js';

/** Thrown by the encoders when the JSON does not pass `checkMessage`; carries every problem. */
export class StrictCheckError extends Error {
  constructor(
    readonly typeName: string,
    readonly problems: readonly Problem[],
  ) {
    super(`${typeName} does not match the Envoy protos:\n${formatProblems(problems)}`);
    this.name = 'StrictCheckError';
  }
}

/** An Any ready for the wire, shaped as @grpc/proto-loader (keepCase) and protobufjs expect (a type alias, so it is also a plain record). */
export type EncodedAny = {
  type_url: string;
  value: Buffer;
};

type Wire = Record<string, unknown>;

function bare<T>(value: T | Invalid): T {
  // Unreachable after checkMessage passed; kept loud in case the two ever disagree.
  if (value instanceof Invalid) throw new Error(`internal: value passed the check but does not convert: ${value.message}`);
  return value;
}

function wireScalar(type: ScalarType, json: unknown): ScalarValue {
  const value = bare(parseScalar(type, json));
  // protobufjs writes 64-bit integers from decimal strings without losing precision.
  return typeof value === 'bigint' ? value.toString() : value;
}

function wireElement(kind: ElementKind, json: unknown): unknown {
  switch (kind.kind) {
    case 'scalar':
      return wireScalar(kind.scalar, json);
    case 'enum':
      return kind.isNullValue ? 0 : bare(parseEnum(kind.enumType, json));
    case 'message':
      return wireMessage(planFor(kind.type), json);
  }
}

// Proto3 leaves default scalars off the wire unless they pick a oneof member (or proto3 `optional`).
function isOmittedDefault(field: FieldPlan, wire: unknown): boolean {
  return field.cardinality.kind === 'single' && field.oneof === undefined && field.element.kind !== 'message' && isScalarDefault(wire as ScalarValue);
}

function wireStructValue(json: unknown): Wire {
  const names = valueFieldNames();
  if (json === null || json === undefined) return { [names.null]: 0 };
  if (typeof json === 'number') return { [names.number]: json };
  if (typeof json === 'string') return { [names.string]: json };
  if (typeof json === 'boolean') return { [names.bool]: json };
  if (Array.isArray(json)) return { [names.list]: { values: json.map(wireStructValue) } };
  return { [names.struct]: wireStruct(json as Record<string, unknown>) };
}

function wireStruct(json: Record<string, unknown>): Wire {
  const fields: Wire = {};
  for (const [k, v] of Object.entries(json)) fields[k] = wireStructValue(v);
  return { fields };
}

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function wireSecondsNanos(value: SecondsNanos | Invalid): Wire {
  const { seconds, nanos } = bare(value);
  return { seconds, nanos };
}

function wireMessage(plan: MessagePlan, json: unknown, isAnyPayload = false): Wire {
  switch (plan.wellKnown) {
    case 'duration':
      return wireSecondsNanos(parseDuration(json));
    case 'timestamp':
      return wireSecondsNanos(parseTimestamp(json));
    case 'wrapper':
      return { value: wireScalar(plan.wrapperScalar!, json) };
    case 'fieldmask':
      return { paths: (json as string).split(',').filter((p) => p !== '').map(snakeCase) };
    case 'struct':
      return wireStruct(json as Record<string, unknown>);
    case 'value':
      return wireStructValue(json);
    case 'listvalue':
      return { values: (json as unknown[]).map(wireStructValue) };
    case 'any':
      return wireAny(json as Record<string, unknown>);
    case undefined:
      break;
  }
  const out: Wire = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (isAnyPayload && key === '@type') continue;
    const field = plan.byKey.get(key) as FieldPlan;
    if (value === undefined || (value === null && !field.nullIsValue)) continue;
    const cardinality = field.cardinality;
    if (cardinality.kind === 'repeated') {
      if ((value as unknown[]).length > 0) out[field.name] = (value as unknown[]).map((v) => wireElement(field.element, v));
    } else if (cardinality.kind === 'map') {
      const map: Wire = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) map[k] = wireElement(field.element, v);
      out[field.name] = map;
    } else {
      const wire = wireElement(field.element, value);
      if (!isOmittedDefault(field, wire)) out[field.name] = wire;
    }
  }
  return out;
}

function wireAny(json: Record<string, unknown>): EncodedAny {
  const typeUrl = json['@type'] as string;
  const type = lookupMessageType(typeNameFromUrl(typeUrl)) as protobuf.Type;
  const plan = planFor(type);
  const payload = isValueWrappedInAny(plan.wellKnown) ? wireMessage(plan, json.value ?? defaultJsonOf(plan)) : wireMessage(plan, json, true);
  return { type_url: typeUrl, value: finish(type, payload) };
}

function defaultJsonOf(plan: MessagePlan): unknown {
  switch (plan.wellKnown) {
    case 'duration':
      return '0s';
    case 'timestamp':
      return '1970-01-01T00:00:00Z';
    case 'listvalue':
      return [];
    case 'fieldmask':
      return '';
    case 'wrapper':
      return plan.wrapperScalar === 'string' || plan.wrapperScalar === 'bytes' ? '' : plan.wrapperScalar === 'bool' ? false : 0;
    case 'value':
      return null;
    default:
      return {};
  }
}

function finish(type: protobuf.Type, wire: Wire): Buffer {
  const bytes = type.encode(wire).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Checks canonical JSON as `typeName` and encodes it to protobuf binary; throws StrictCheckError listing every problem. */
export function encodeMessage(typeName: string, json: unknown, options?: CheckOptions): Buffer {
  const problems = checkMessage(typeName, json, options);
  if (problems.length > 0) throw new StrictCheckError(typeName, problems);
  const type = lookupMessageType(typeName.replace(/^\./, '')) as protobuf.Type;
  return finish(type, wireMessage(planFor(type), json));
}

/**
 * Encodes canonical JSON as `typeName` without running `checkMessage` first: for callers whose JSON is known to pass
 * the check (builders whose output the tests check). JSON that would fail the check may throw or encode garbage.
 */
export function encodeMessageUnchecked(typeName: string, json: unknown): Buffer {
  const type = lookupMessageType(typeName.replace(/^\./, '')) as protobuf.Type;
  return finish(type, wireMessage(planFor(type), json));
}

/**
 * Turns canonical JSON with an `"@type"` (e.g. a Cluster for CDS) into a google.protobuf.Any for a DiscoveryResponse;
 * throws StrictCheckError listing every problem.
 */
export function toAny(json: unknown, options?: CheckOptions): EncodedAny {
  const problems = checkMessage('google.protobuf.Any', json, options);
  if (problems.length > 0) {
    const typeUrl = isPlainObject(json) && typeof json['@type'] === 'string' ? json['@type'] : 'google.protobuf.Any';
    throw new StrictCheckError(typeNameFromUrl(typeUrl), problems);
  }
  return wireAny(json as Record<string, unknown>);
}
