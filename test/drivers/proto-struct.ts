/**
 * google.protobuf.Struct as proto-loader hands it over the wire (`{fields: {k: Value}}`), to and from plain JSON.
 * protobufjs defines the well-known Struct/Value types itself (protobufjs/src/common.js) with camelCase field names
 * even when the rest of the protos are loaded with keepCase, so `string_value` would be dropped silently on encode.
 */
export type ProtoValue = { nullValue?: unknown; numberValue?: number; stringValue?: string; boolValue?: boolean; structValue?: ProtoStruct; listValue?: { values?: ProtoValue[] } };
export type ProtoStruct = { fields?: Record<string, ProtoValue> };

export function toProtoValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toProtoValue) } };
  return { structValue: toProtoStruct(v as Record<string, unknown>) };
}

export function toProtoStruct(obj: Record<string, unknown>): ProtoStruct {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toProtoValue(v)])) };
}

export function fromProtoValue(v: ProtoValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return fromProtoStruct(v.structValue);
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map(fromProtoValue);
  return null;
}

export function fromProtoStruct(s: ProtoStruct | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, fromProtoValue(v)]));
}
