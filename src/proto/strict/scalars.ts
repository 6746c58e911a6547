/** The proto scalar types, as protobufjs names them in `field.type`. */
export type ScalarType =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** A parsed scalar: number for 32-bit ints and floats, bigint for 64-bit ints, Buffer for bytes. */
export type ScalarValue = number | bigint | string | boolean | Buffer;

/** Returned instead of a value when JSON does not parse; a class so `instanceof` tells it apart cheaply. */
export class Invalid {
  constructor(readonly message: string) {}
}

const SCALAR_TYPES = new Set<string>([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]);

export function isScalarType(type: string): type is ScalarType {
  return SCALAR_TYPES.has(type);
}

const INT32_RANGE: Record<string, readonly [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
};

const INT64_RANGE: Record<string, readonly [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const FLOAT_MAX = 3.4028234663852886e38;
const INTEGER_TEXT = /^-?\d+$/;
const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function is64Bit(type: ScalarType): boolean {
  return type in INT64_RANGE;
}

/** How a JSON value reads in a message: "a string", "an array", ... */
export function describeJson(json: unknown): string {
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  switch (typeof json) {
    case 'string':
      return `the string ${JSON.stringify(json.length > 40 ? `${json.slice(0, 40)}…` : json)}`;
    case 'number':
      return `the number ${json}`;
    case 'boolean':
      return `the boolean ${json}`;
    case 'object':
      return 'an object';
    default:
      return typeof json;
  }
}

// Proto3 JSON accepts integers as numbers or as strings, including exponent forms that denote integers.
function integerOf(json: unknown): bigint | number | undefined {
  if (typeof json === 'number') return Number.isInteger(json) ? json : undefined;
  if (typeof json !== 'string') return undefined;
  if (INTEGER_TEXT.test(json)) return BigInt(json);
  const n = json.trim() === '' ? NaN : Number(json);
  return Number.isInteger(n) ? n : undefined;
}

function parseInteger(type: ScalarType, json: unknown): number | bigint | Invalid {
  const n = integerOf(json);
  if (n === undefined) return new Invalid(`expected an integer (${type}), got ${describeJson(json)}`);
  const range32 = INT32_RANGE[type];
  if (range32) {
    const v = Number(n);
    if (v < range32[0] || v > range32[1]) return new Invalid(`${String(json)} is out of range for ${type}`);
    return v;
  }
  const range64 = INT64_RANGE[type] as readonly [bigint, bigint];
  const v = typeof n === 'bigint' ? n : BigInt(n);
  if (v < range64[0] || v > range64[1]) return new Invalid(`${String(json)} is out of range for ${type}`);
  return v;
}

function parseFloating(type: ScalarType, json: unknown): number | Invalid {
  let v: number;
  if (typeof json === 'number') v = json;
  else if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') return Number(json);
  else if (typeof json === 'string' && json.trim() !== '' && !Number.isNaN(Number(json))) v = Number(json);
  else return new Invalid(`expected a number (${type}), got ${describeJson(json)}`);
  if (type === 'float' && Number.isFinite(v) && Math.abs(v) > FLOAT_MAX) return new Invalid(`${v} is out of range for float`);
  return v;
}

/** Parses one JSON scalar the way the proto3 JSON mapping reads it for `type`. */
export function parseScalar(type: ScalarType, json: unknown): ScalarValue | Invalid {
  switch (type) {
    case 'string':
      return typeof json === 'string' ? json : new Invalid(`expected a string, got ${describeJson(json)}`);
    case 'bool':
      return typeof json === 'boolean' ? json : new Invalid(`expected a boolean, got ${describeJson(json)}`);
    case 'double':
    case 'float':
      return parseFloating(type, json);
    case 'bytes':
      if (typeof json !== 'string' || !BASE64_TEXT.test(json) || json.replace(/=+$/, '').length % 4 === 1) {
        return new Invalid(`expected base64 bytes, got ${describeJson(json)}`);
      }
      return Buffer.from(json, 'base64');
    default:
      return parseInteger(type, json);
  }
}

/** Parses a JSON object key as a map key of `type` (keys are always strings in JSON). */
export function parseMapKey(type: ScalarType, key: string): ScalarValue | Invalid {
  if (type === 'string') return key;
  if (type === 'bool') return key === 'true' ? true : key === 'false' ? false : new Invalid(`map key must be "true" or "false"`);
  if (!INTEGER_TEXT.test(key)) return new Invalid(`map key must be an integer (${type})`);
  return parseInteger(type, key);
}

/** The value an unset singular field has in proto3. */
export function scalarDefault(type: ScalarType): ScalarValue {
  switch (type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return Buffer.alloc(0);
    default:
      return is64Bit(type) ? 0n : 0;
  }
}

export function isScalarDefault(value: ScalarValue): boolean {
  if (Buffer.isBuffer(value)) return value.length === 0;
  return value === '' || value === 0 || value === 0n || value === false;
}
