import type protobuf from 'protobufjs';
import { lookupMessageType } from '../envoy-config.js';
import type { ScalarType } from './scalars.js';

/** Well-known types whose proto3 JSON form is not a plain object of fields. */
export type WellKnownKind = 'any' | 'duration' | 'timestamp' | 'fieldmask' | 'struct' | 'value' | 'listvalue' | 'wrapper';

const KINDS: Record<string, WellKnownKind> = {
  'google.protobuf.Any': 'any',
  'google.protobuf.Duration': 'duration',
  'google.protobuf.Timestamp': 'timestamp',
  'google.protobuf.FieldMask': 'fieldmask',
  'google.protobuf.Struct': 'struct',
  'google.protobuf.Value': 'value',
  'google.protobuf.ListValue': 'listvalue',
};

/** Wrapper messages and the scalar they carry as a bare JSON primitive. */
export const WRAPPER_SCALARS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** TypedStruct carries a config as `type_url` plus a Struct; Envoy converts it to that type, so we check it as one. */
export const TYPED_STRUCTS = new Set(['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct']);

export const NULL_VALUE_ENUM = 'google.protobuf.NullValue';

/** Full names here have no leading dot: `google.protobuf.Duration`. */
export function wellKnownKind(fullName: string): WellKnownKind | undefined {
  return KINDS[fullName] ?? (fullName in WRAPPER_SCALARS ? 'wrapper' : undefined);
}

/** Inside an Any, these kinds put their JSON form under `"value"` next to `"@type"`. */
export function isValueWrappedInAny(kind: WellKnownKind | undefined): boolean {
  return kind !== undefined;
}

export function isPlainObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

/** Field names of google.protobuf.Value by role. */
export interface ValueFieldNames {
  null: string;
  number: string;
  string: string;
  bool: string;
  struct: string;
  list: string;
}

let valueFields: ValueFieldNames | undefined;

// protobufjs bundles struct.proto with camelCase field names whatever keepCase says, so read them by field number.
export function valueFieldNames(): ValueFieldNames {
  if (valueFields) return valueFields;
  const type = lookupMessageType('google.protobuf.Value');
  if (!type) throw new Error('google.protobuf.Value is not loaded');
  const name = (id: number): string => (type.fieldsById[id] as protobuf.Field).name;
  valueFields = { null: name(1), number: name(2), string: name(3), bool: name(4), struct: name(5), list: name(6) };
  return valueFields;
}
