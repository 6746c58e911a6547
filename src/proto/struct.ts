/**
 * google.protobuf.Struct as proto-loader reads and writes it. protobufjs defines the well-known Struct/Value types
 * itself (protobufjs/src/common.js) with camelCase field names, so `string_value` would be dropped silently even
 * though every Envoy message around it is loaded with keepCase.
 */
export interface StructMessage {
  fields?: Record<string, { stringValue?: string; numberValue?: number; boolValue?: boolean } | undefined>;
}

/** A flat Struct of strings (undefined values are left out). */
export function stringStruct(values: Record<string, string | undefined>): StructMessage {
  const fields: NonNullable<StructMessage['fields']> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) fields[k] = { stringValue: v };
  return { fields };
}

/** A string field of a Struct, or undefined when absent or not a string. */
export function structString(struct: unknown, key: string): string | undefined {
  const value = (struct as StructMessage | undefined)?.fields?.[key]?.stringValue;
  return typeof value === 'string' ? value : undefined;
}
