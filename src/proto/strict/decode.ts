import type protobuf from 'protobufjs';
import { lookupMessageType, typeNameFromUrl } from '../envoy-config.js';
import { formatDuration } from './duration.js';
import { planFor, toJsonName, type ElementKind, type MessagePlan } from './plan.js';
import type { ScalarType } from './scalars.js';
import { formatTimestamp } from './timestamp.js';
import { isValueWrappedInAny, valueFieldNames } from './well-known.js';

type Decoded = Record<string, unknown>;

function jsonScalar(type: ScalarType, value: unknown): unknown {
  if (type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (type === 'float' || type === 'double') return Number.isFinite(value) ? value : String(value);
  // 64-bit integers arrive as Long (or number); canonical JSON writes them as decimal strings.
  if (typeof value === 'object' && value !== null) return String(value);
  if (type.endsWith('64') && typeof value === 'number') return String(value);
  return value;
}

function jsonElement(kind: ElementKind, value: unknown): unknown {
  switch (kind.kind) {
    case 'scalar':
      return jsonScalar(kind.scalar, value);
    case 'enum':
      return kind.isNullValue ? null : (kind.enumType.valuesById[value as number] ?? value);
    case 'message':
      return jsonMessage(planFor(kind.type), value as Decoded);
  }
}

const has = (message: Decoded, key: string): boolean => Object.prototype.hasOwnProperty.call(message, key);

function jsonStructValue(value: Decoded): unknown {
  const names = valueFieldNames();
  if (has(value, names.struct)) return jsonStruct(value[names.struct] as Decoded);
  if (has(value, names.list)) return (((value[names.list] as Decoded).values as Decoded[] | undefined) ?? []).map(jsonStructValue);
  if (has(value, names.string)) return value[names.string];
  if (has(value, names.number)) return value[names.number];
  if (has(value, names.bool)) return value[names.bool];
  return null;
}

function jsonStruct(value: Decoded): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((value.fields as Record<string, Decoded> | undefined) ?? {})) out[k] = jsonStructValue(v);
  return out;
}

function secondsNanos(value: Decoded): { seconds: number; nanos: number } {
  return { seconds: Number(value.seconds ?? 0), nanos: Number(value.nanos ?? 0) };
}

function jsonMessage(plan: MessagePlan, message: Decoded): unknown {
  switch (plan.wellKnown) {
    case 'duration':
      return formatDuration(secondsNanos(message));
    case 'timestamp':
      return formatTimestamp(secondsNanos(message));
    case 'wrapper':
      return jsonScalar(plan.wrapperScalar!, message.value ?? (plan.wrapperScalar === 'bool' ? false : plan.wrapperScalar === 'string' ? '' : 0));
    case 'fieldmask':
      return ((message.paths as string[] | undefined) ?? []).map(toJsonName).join(',');
    case 'struct':
      return jsonStruct(message);
    case 'value':
      return jsonStructValue(message);
    case 'listvalue':
      return ((message.values as Decoded[] | undefined) ?? []).map(jsonStructValue);
    case 'any':
      return decodeAny(message as { type_url: string; value: Uint8Array });
    case undefined:
      break;
  }
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    if (!has(message, field.name)) continue;
    const value = message[field.name];
    if (value === null || value === undefined) continue;
    if (field.cardinality.kind === 'repeated') {
      if ((value as unknown[]).length > 0) out[field.name] = (value as unknown[]).map((v) => jsonElement(field.element, v));
    } else if (field.cardinality.kind === 'map') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > 0) out[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, jsonElement(field.element, v)]));
    } else {
      out[field.name] = jsonElement(field.element, value);
    }
  }
  return out;
}

function decodeWith(type: protobuf.Type, bytes: Uint8Array): unknown {
  return jsonMessage(planFor(type), type.decode(bytes) as unknown as Decoded);
}

/** Decodes protobuf binary of `typeName` back to canonical JSON with proto (snake_case) field names. */
export function decodeMessage(typeName: string, bytes: Uint8Array): unknown {
  const type = lookupMessageType(typeName.replace(/^\./, ''));
  if (!type) throw new Error(`unknown message type ${typeName}`);
  return decodeWith(type, bytes);
}

/** Decodes an Any to canonical JSON: `{"@type": url, ...fields}`, or `{"@type": url, "value": ...}` for well-known types. */
export function decodeAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const type = lookupMessageType(typeNameFromUrl(any.type_url));
  if (!type) throw new Error(`cannot resolve Any type URL ${any.type_url}`);
  const payload = decodeWith(type, any.value ?? new Uint8Array());
  return isValueWrappedInAny(planFor(type).wellKnown) ? { '@type': any.type_url, value: payload } : { '@type': any.type_url, ...(payload as object) };
}
