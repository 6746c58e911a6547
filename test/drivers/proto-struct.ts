/** google.protobuf.Struct as proto-loader hands it over the wire (`{fields: {k: Value}}`), to and from plain JSON. */
export type ProtoValue = { null_value?: unknown; number_value?: number; string_value?: string; bool_value?: boolean; struct_value?: ProtoStruct; list_value?: { values?: ProtoValue[] } };
export type ProtoStruct = { fields?: Record<string, ProtoValue> };

export function toProtoValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(toProtoValue) } };
  return { struct_value: toProtoStruct(v as Record<string, unknown>) };
}

export function toProtoStruct(obj: Record<string, unknown>): ProtoStruct {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toProtoValue(v)])) };
}

export function fromProtoValue(v: ProtoValue | undefined): unknown {
  if (!v) return null;
  if (v.string_value !== undefined) return v.string_value;
  if (v.number_value !== undefined) return v.number_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.struct_value !== undefined) return fromProtoStruct(v.struct_value);
  if (v.list_value !== undefined) return (v.list_value.values ?? []).map(fromProtoValue);
  return null;
}

export function fromProtoStruct(s: ProtoStruct | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, fromProtoValue(v)]));
}
