import type protobuf from 'protobufjs';
import { compareSecondsNanos, formatDuration, secondsNanosOf, type SecondsNanos } from './duration.js';
import { is64Bit, isScalarDefault, type ScalarType, type ScalarValue } from './scalars.js';
import { formatTimestamp } from './timestamp.js';

/** One compiled constraint: returns why `value` violates it, or undefined. */
export type ValueCheck = (value: unknown) => string | undefined;

/** The `(validate.rules)` of one field (or of its items, keys or values), compiled once per field. */
export interface CompiledRules {
  /** message/duration/timestamp/any `.required`: the field must be set. */
  required: boolean;
  /** message `.skip`: do not apply rules inside the nested message. */
  skip: boolean;
  /** `.ignore_empty`: an empty value skips every other rule. */
  ignoreEmpty: boolean;
  /** Checks on a singular value: a scalar, an enum number, a wrapper's content, a Duration, a Timestamp, an Any type URL. */
  value: ValueCheck[];
  minItems: number;
  maxItems: number;
  unique: boolean;
  items?: CompiledRules;
  keys?: CompiledRules;
  values?: CompiledRules;
}

/** What the rules of a field constrain, derived from the field's type. */
export type RuleTarget =
  | { kind: 'scalar'; scalar: ScalarType }
  | { kind: 'enum'; enumType: protobuf.Enum }
  | { kind: 'duration' }
  | { kind: 'timestamp' }
  | { kind: 'any' }
  | { kind: 'message' };

type Raw = Record<string, unknown>;

function optionEntries(options: unknown, key: string): Raw[] {
  if (!Array.isArray(options)) return [];
  return options.flatMap((entry: Raw) => (entry && key in entry ? [entry[key] as Raw] : []));
}

function deepMerge(into: Raw, from: Raw): Raw {
  for (const [k, v] of Object.entries(from)) {
    const existing = into[k];
    into[k] = isRaw(existing) && isRaw(v) ? deepMerge({ ...existing }, v) : v;
  }
  return into;
}

function isRaw(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `(validate.rules)` option of a field as protobufjs parsed it, several option statements merged into one. */
export function rawFieldRules(field: protobuf.Field): Raw | undefined {
  const entries = optionEntries(field.parsedOptions, '(validate.rules)');
  if (entries.length === 0) return undefined;
  return entries.reduce((acc, e) => deepMerge(acc, e), {} as Raw);
}

/** `option (validate.required) = true` on a oneof: exactly one member must be set. */
export function isOneofRequired(oneof: protobuf.OneOf): boolean {
  return optionEntries(oneof.parsedOptions, '(validate.required)').some((v) => v === (true as unknown));
}

/** `option (validate.disabled)` or `(validate.ignored)` on a message turns its rules off. */
export function areMessageRulesDisabled(type: protobuf.Type): boolean {
  const parsed = type.parsedOptions;
  return ['(validate.disabled)', '(validate.ignored)'].some((k) => optionEntries(parsed, k).some((v) => v === (true as unknown)));
}

function list(raw: unknown): unknown[] {
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

interface Bound<T> {
  value: T;
  inclusive: boolean;
}

// PGV range semantics: with both bounds and upper <= lower, the value must lie outside the range instead of inside.
function comparisonChecks<T>(
  rules: Raw,
  label: string,
  convert: (raw: unknown) => T,
  compare: (a: T, b: T) => number,
  show: (v: T) => string,
): ValueCheck[] {
  const checks: ValueCheck[] = [];
  if (rules.const !== undefined) {
    const expected = convert(rules.const);
    checks.push((v) => (compare(v as T, expected) === 0 ? undefined : `${show(v as T)} must equal ${show(expected)} (${label}.const)`));
  }
  const lower: Bound<T> | undefined =
    rules.gt !== undefined ? { value: convert(rules.gt), inclusive: false } : rules.gte !== undefined ? { value: convert(rules.gte), inclusive: true } : undefined;
  const upper: Bound<T> | undefined =
    rules.lt !== undefined ? { value: convert(rules.lt), inclusive: false } : rules.lte !== undefined ? { value: convert(rules.lte), inclusive: true } : undefined;
  if (lower || upper) {
    const aboveLower = (v: T): boolean => !lower || (lower.inclusive ? compare(v, lower.value) >= 0 : compare(v, lower.value) > 0);
    const belowUpper = (v: T): boolean => !upper || (upper.inclusive ? compare(v, upper.value) <= 0 : compare(v, upper.value) < 0);
    const outside = lower !== undefined && upper !== undefined && compare(upper.value, lower.value) <= 0;
    const parts = [
      lower && `${lower.inclusive ? '>=' : '>'} ${show(lower.value)}`,
      upper && `${upper.inclusive ? '<=' : '<'} ${show(upper.value)}`,
    ].filter(Boolean);
    const names = [lower && (lower.inclusive ? 'gte' : 'gt'), upper && (upper.inclusive ? 'lte' : 'lt')].filter(Boolean).join('/');
    const wanted = parts.join(outside ? ' or ' : ' and ');
    checks.push((v) => {
      const ok = outside ? aboveLower(v as T) || belowUpper(v as T) : aboveLower(v as T) && belowUpper(v as T);
      return ok ? undefined : `${show(v as T)} must be ${wanted} (${label}.${names})`;
    });
  }
  checks.push(...membershipChecks(rules, label, convert, compare, show));
  return checks;
}

function membershipChecks<T>(rules: Raw, label: string, convert: (raw: unknown) => T, compare: (a: T, b: T) => number, show: (v: T) => string): ValueCheck[] {
  const checks: ValueCheck[] = [];
  const allowed = list(rules.in).map(convert);
  if (allowed.length > 0) {
    checks.push((v) =>
      allowed.some((a) => compare(v as T, a) === 0) ? undefined : `${show(v as T)} must be one of ${allowed.map(show).join(', ')} (${label}.in)`,
    );
  }
  const denied = list(rules.not_in).map(convert);
  if (denied.length > 0) {
    checks.push((v) => (denied.some((a) => compare(v as T, a) === 0) ? `${show(v as T)} is not allowed (${label}.not_in)` : undefined));
  }
  return checks;
}

function runeLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      n--;
      i++;
    }
  }
  return n;
}

// The header regexes protoc-gen-validate generates; `strict: false` only forbids NUL, CR and LF.
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~\x60]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_RELAXED = /^[^\u0000\u000A\u000D]*$/;

function lengthCheck(rules: Raw, label: string, unit: string, measure: (v: never) => number, names: [string, string, string]): ValueCheck[] {
  const [exact, min, max] = names;
  const checks: ValueCheck[] = [];
  if (rules[exact] !== undefined) {
    const n = Number(rules[exact]);
    checks.push((v) => (measure(v as never) === n ? undefined : `length must be exactly ${n} ${unit} (${label}.${exact})`));
  }
  if (rules[min] !== undefined) {
    const n = Number(rules[min]);
    checks.push((v) => (measure(v as never) >= n ? undefined : n === 1 ? `must not be empty (${label}.${min} = 1)` : `must be at least ${n} ${unit} long (${label}.${min})`));
  }
  if (rules[max] !== undefined) {
    const n = Number(rules[max]);
    checks.push((v) => (measure(v as never) <= n ? undefined : `must be at most ${n} ${unit} long (${label}.${max})`));
  }
  return checks;
}

function stringChecks(rules: Raw): ValueCheck[] {
  const label = '(validate.rules).string';
  const show = (v: string): string => JSON.stringify(v);
  const checks: ValueCheck[] = [
    ...lengthCheck(rules, label, 'characters', runeLength, ['len', 'min_len', 'max_len']),
    ...lengthCheck(rules, label, 'bytes', (s: string) => Buffer.byteLength(s), ['len_bytes', 'min_bytes', 'max_bytes']),
    ...membershipChecks(rules, label, String, (a, b) => (a === b ? 0 : 1), show),
  ];
  if (rules.const !== undefined) {
    const c = String(rules.const);
    checks.push((v) => (v === c ? undefined : `must equal ${show(c)} (${label}.const)`));
  }
  if (typeof rules.pattern === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(rules.pattern, 'u');
    } catch {
      re = undefined; // RE2 syntax JavaScript cannot compile: skipped rather than guessed.
    }
    const pattern = rules.pattern;
    if (re) checks.push((v) => (re.test(v as string) ? undefined : `must match ${pattern} (${label}.pattern)`));
  }
  for (const [key, test] of [
    ['prefix', (v: string, p: string) => v.startsWith(p)],
    ['suffix', (v: string, p: string) => v.endsWith(p)],
    ['contains', (v: string, p: string) => v.includes(p)],
    ['not_contains', (v: string, p: string) => !v.includes(p)],
  ] as const) {
    if (typeof rules[key] !== 'string') continue;
    const operand = rules[key];
    checks.push((v) => (test(v as string, operand) ? undefined : `fails ${key} ${show(operand)} (${label}.${key})`));
  }
  if (rules.well_known_regex === 'HTTP_HEADER_NAME' || rules.well_known_regex === 'HTTP_HEADER_VALUE') {
    const kind = rules.well_known_regex;
    const re = rules.strict === false ? HEADER_RELAXED : kind === 'HTTP_HEADER_NAME' ? HEADER_NAME : HEADER_VALUE;
    checks.push((v) => (re.test(v as string) ? undefined : `${show(v as string)} is not a valid ${kind === 'HTTP_HEADER_NAME' ? 'header name' : 'header value'} (${label}.well_known_regex)`));
  }
  return checks;
}

function numberChecks(scalar: ScalarType, rules: Raw): ValueCheck[] {
  const label = `(validate.rules).${scalar}`;
  if (is64Bit(scalar)) {
    return comparisonChecks<bigint>(rules, label, (raw) => BigInt(String(raw)), (a, b) => (a < b ? -1 : a > b ? 1 : 0), String);
  }
  return comparisonChecks<number>(rules, label, Number, (a, b) => a - b, String);
}

function scalarChecks(scalar: ScalarType, raw: Raw): { checks: ValueCheck[]; ignoreEmpty: boolean } {
  const rules = raw[scalar];
  if (!isRaw(rules)) return { checks: [], ignoreEmpty: false };
  const ignoreEmpty = rules.ignore_empty === true;
  switch (scalar) {
    case 'string':
      return { checks: stringChecks(rules), ignoreEmpty };
    case 'bytes':
      return {
        checks: lengthCheck(rules, '(validate.rules).bytes', 'bytes', (b: Buffer) => b.length, ['len', 'min_len', 'max_len']),
        ignoreEmpty,
      };
    case 'bool':
      return {
        checks: rules.const === undefined ? [] : [(v) => (v === rules.const ? undefined : `must be ${String(rules.const)} ((validate.rules).bool.const)`)],
        ignoreEmpty,
      };
    default:
      return { checks: numberChecks(scalar, rules), ignoreEmpty };
  }
}

function enumChecks(enumType: protobuf.Enum, rules: Raw): ValueCheck[] {
  const label = '(validate.rules).enum';
  const show = (n: number): string => enumType.valuesById[n] ?? String(n);
  const checks = comparisonChecks<number>({ const: rules.const, in: rules.in, not_in: rules.not_in }, label, Number, (a, b) => a - b, show);
  if (rules.defined_only === true) {
    checks.unshift((v) =>
      enumType.valuesById[v as number] !== undefined ? undefined : `${String(v)} is not a defined value of ${enumType.fullName.slice(1)} (${label}.defined_only)`,
    );
  }
  return checks;
}

function valueChecks(target: RuleTarget, raw: Raw): { checks: ValueCheck[]; ignoreEmpty: boolean } {
  switch (target.kind) {
    case 'scalar':
      return scalarChecks(target.scalar, raw);
    case 'enum':
      return { checks: isRaw(raw.enum) ? enumChecks(target.enumType, raw.enum) : [], ignoreEmpty: false };
    case 'duration':
      return {
        checks: isRaw(raw.duration)
          ? comparisonChecks<SecondsNanos>(raw.duration, '(validate.rules).duration', secondsNanosOf, compareSecondsNanos, formatDuration)
          : [],
        ignoreEmpty: false,
      };
    case 'timestamp':
      return {
        checks: isRaw(raw.timestamp)
          ? comparisonChecks<SecondsNanos>(
              { const: raw.timestamp.const, lt: raw.timestamp.lt, lte: raw.timestamp.lte, gt: raw.timestamp.gt, gte: raw.timestamp.gte },
              '(validate.rules).timestamp',
              secondsNanosOf,
              compareSecondsNanos,
              formatTimestamp,
            )
          : [],
        ignoreEmpty: false,
      };
    case 'any':
      return {
        checks: isRaw(raw.any) ? membershipChecks(raw.any, '(validate.rules).any', String, (a, b) => (a === b ? 0 : 1), (v) => JSON.stringify(v)) : [],
        ignoreEmpty: false,
      };
    case 'message':
      return { checks: [], ignoreEmpty: false };
  }
}

function isRequired(raw: Raw): boolean {
  return ['message', 'duration', 'timestamp', 'any'].some((k) => isRaw(raw[k]) && (raw[k] as Raw).required === true);
}

function compileElement(raw: Raw | undefined, target: RuleTarget): CompiledRules | undefined {
  if (!raw) return undefined;
  const { checks, ignoreEmpty } = valueChecks(target, raw);
  const required = isRequired(raw);
  const skip = isRaw(raw.message) && raw.message.skip === true;
  if (checks.length === 0 && !required && !skip) return undefined;
  return { required, skip, ignoreEmpty, value: checks, minItems: 0, maxItems: Infinity, unique: false };
}

/** How the field holds its values; map keys are always scalars. */
export type Cardinality = { kind: 'single' } | { kind: 'repeated' } | { kind: 'map'; key: ScalarType };

/** Compiles a field's `(validate.rules)` for its type, or returns undefined when nothing is enforced. */
export function compileFieldRules(raw: Raw | undefined, target: RuleTarget, cardinality: Cardinality): CompiledRules | undefined {
  if (!raw) return undefined;
  if (cardinality.kind === 'single') return compileElement(raw, target);
  const collection = cardinality.kind === 'repeated' ? raw.repeated : raw.map;
  if (!isRaw(collection)) return undefined;
  const rules: CompiledRules = {
    required: false,
    skip: false,
    ignoreEmpty: collection.ignore_empty === true,
    value: [],
    minItems: Number(collection.min_items ?? collection.min_pairs ?? 0),
    maxItems: Number(collection.max_items ?? collection.max_pairs ?? Infinity),
    unique: collection.unique === true,
  };
  if (cardinality.kind === 'repeated') {
    rules.items = compileElement(isRaw(collection.items) ? collection.items : undefined, target);
  } else {
    rules.keys = compileElement(isRaw(collection.keys) ? collection.keys : undefined, { kind: 'scalar', scalar: cardinality.key });
    rules.values = compileElement(isRaw(collection.values) ? collection.values : undefined, target);
  }
  return rules;
}

/** True when `value` is empty in the sense of `ignore_empty`. */
export function isEmptyValue(value: unknown): boolean {
  return isScalarDefault(value as ScalarValue);
}
