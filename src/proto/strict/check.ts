import type protobuf from 'protobufjs';
import { lookupMessageType, typeNameFromUrl } from '../envoy-config.js';
import { isNegative, MAX_DURATION_SECONDS, parseDuration } from './duration.js';
import { fullNameOf, planFor, type ElementKind, type FieldPlan, type MessagePlan } from './plan.js';
import { formatPath, KeySegment, type PathSegment, type Problem } from './problem.js';
import { isEmptyValue, type CompiledRules } from './rules.js';
import { describeJson, Invalid, parseMapKey, parseScalar, scalarDefault } from './scalars.js';
import { closest } from './suggest.js';
import { parseTimestamp } from './timestamp.js';
import { isPlainObject, isValueWrappedInAny, TYPED_STRUCTS } from './well-known.js';

export interface CheckOptions {
  /** Also report fields marked `deprecated` in the protos (Envoy warns on them, and later releases remove them). */
  rejectDeprecated?: boolean;
}

const TYPE_KEY = '@type';
const UNRESOLVED_HINT = ' (no such message in the Envoy protos shipped with @grpc/grpc-js-xds, or it imports protos they lack)';
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Reads a JSON enum value: its name, or its number (proto3 enums are open; `defined_only` narrows that). */
export function parseEnum(enumType: protobuf.Enum, json: unknown): number | Invalid {
  if (typeof json === 'string') {
    if (Object.prototype.hasOwnProperty.call(enumType.values, json)) return enumType.values[json] as number;
    const names = Object.keys(enumType.values);
    const hint = closest(json, names);
    const expected = hint ? `did you mean ${hint}?` : names.length <= 12 ? `expected one of ${names.join(', ')}` : '';
    return new Invalid(`unknown value ${JSON.stringify(json)} for enum ${fullNameOf(enumType)}${expected ? ` (${expected})` : ''}`);
  }
  if (typeof json === 'number' && Number.isInteger(json) && json >= INT32_MIN && json <= INT32_MAX) return json;
  return new Invalid(`expected an enum name of ${fullNameOf(enumType)}, got ${describeJson(json)}`);
}

function isSet(json: Record<string, unknown>, field: FieldPlan): boolean {
  const v = json[field.name] ?? (field.jsonName === field.name ? undefined : json[field.jsonName]);
  return v !== undefined && (v !== null || field.nullIsValue);
}

class Walker {
  readonly problems: Problem[] = [];
  private readonly path: PathSegment[] = [];

  constructor(private readonly options: CheckOptions) {}

  private fail(message: string, at?: PathSegment): void {
    if (at !== undefined) this.path.push(at);
    this.problems.push({ path: formatPath(this.path), message });
    if (at !== undefined) this.path.pop();
  }

  /** `validate` is false below a `message.skip` or a message with rules disabled: structure is still checked. */
  message(plan: MessagePlan, json: unknown, validate: boolean, rules: CompiledRules | undefined, isAnyPayload = false): void {
    if (plan.wellKnown) {
      this.wellKnown(plan, json, validate ? rules : undefined, validate);
      return;
    }
    if (!isPlainObject(json)) {
      this.fail(`expected an object (${plan.fullName}), got ${describeJson(json)}`);
      return;
    }
    const applyRules = validate && !plan.rulesDisabled;
    let oneofs: Map<string, string> | undefined;
    for (const key of Object.keys(json)) {
      if (isAnyPayload && key === TYPE_KEY) continue;
      const field = plan.byKey.get(key);
      if (!field) {
        this.unknownField(plan, key);
        continue;
      }
      const value = json[key];
      // undefined (a JS-built object's absent optional) and null both mean "unset", as they do once serialized.
      if (value === undefined || (value === null && !field.nullIsValue)) continue;
      if (key !== field.name && json[field.name] !== undefined) {
        this.fail(`"${key}" and "${field.name}" both set the same field`, key);
        continue;
      }
      this.path.push(key);
      if (field.deprecated && this.options.rejectDeprecated) this.fail(`deprecated field of ${plan.fullName}`);
      if (field.oneof !== undefined) {
        oneofs ??= new Map();
        const other = oneofs.get(field.oneof);
        if (other === undefined) oneofs.set(field.oneof, key);
        else this.fail(`"${other}" and "${key}" are both set, but they belong to the same oneof "${field.oneof}"`);
      }
      this.field(field, value, applyRules);
      this.path.pop();
    }
    if (!applyRules) return;
    for (const field of plan.checkedWhenUnset) {
      if (!isSet(json, field)) this.unset(field);
    }
    for (const oneof of plan.requiredOneofs) {
      if (oneof.members.some((m) => isSet(json, m))) continue;
      const names = oneof.members.map((m) => m.name).join(', ');
      this.fail(`one of ${names} must be set (oneof "${oneof.name}" is (validate.required))`);
    }
  }

  private unknownField(plan: MessagePlan, key: string): void {
    const hint = key === TYPE_KEY ? undefined : closest(key, [...plan.byKey.keys()]);
    const suffix = key === TYPE_KEY ? ' ("@type" only belongs in a google.protobuf.Any)' : hint ? ` (did you mean "${hint}"?)` : '';
    this.fail(`unknown field "${key}" in ${plan.fullName}${suffix}`, key);
  }

  private field(field: FieldPlan, value: unknown, validate: boolean): void {
    const rules = validate ? field.rules : undefined;
    const cardinality = field.cardinality;
    if (cardinality.kind === 'single') {
      this.element(field.element, value, validate, rules);
      return;
    }
    if (cardinality.kind === 'repeated') {
      if (!Array.isArray(value)) {
        this.fail(`expected a list, got ${describeJson(value)}`);
        return;
      }
      if (rules) this.collection(rules, value, 'repeated');
      for (let i = 0; i < value.length; i++) {
        this.path.push(i);
        this.element(field.element, value[i], validate, rules?.items);
        this.path.pop();
      }
      return;
    }
    if (!isPlainObject(value)) {
      this.fail(`expected an object (a map), got ${describeJson(value)}`);
      return;
    }
    const keys = Object.keys(value);
    if (rules) this.collection(rules, keys, 'map');
    for (const key of keys) {
      this.path.push(new KeySegment(key));
      const parsedKey = parseMapKey(cardinality.key, key);
      if (parsedKey instanceof Invalid) this.fail(parsedKey.message);
      else if (rules?.keys) this.values(rules.keys, parsedKey, 'map key ');
      this.element(field.element, value[key], validate, rules?.values);
      this.path.pop();
    }
  }

  private collection(rules: CompiledRules, items: unknown[] | string[], kind: 'repeated' | 'map'): void {
    const count = items.length;
    if (rules.ignoreEmpty && count === 0) return;
    const [min, max, noun] = kind === 'repeated' ? ['min_items', 'max_items', 'items'] : ['min_pairs', 'max_pairs', 'entries'];
    if (count < rules.minItems) this.fail(`must have at least ${rules.minItems} ${noun}, has ${count} ((validate.rules).${kind}.${min})`);
    if (count > rules.maxItems) this.fail(`must have at most ${rules.maxItems} ${noun}, has ${count} ((validate.rules).${kind}.${max})`);
    if (rules.unique && kind === 'repeated') {
      const seen = new Set<string>();
      for (const item of items) {
        const key = JSON.stringify(item);
        if (seen.has(key)) this.fail(`${key} appears more than once ((validate.rules).repeated.unique)`);
        seen.add(key);
      }
    }
  }

  private element(kind: ElementKind, json: unknown, validate: boolean, rules: CompiledRules | undefined): void {
    switch (kind.kind) {
      case 'scalar': {
        const value = parseScalar(kind.scalar, json);
        if (value instanceof Invalid) this.fail(value.message);
        else if (rules) this.values(rules, value);
        return;
      }
      case 'enum': {
        if (kind.isNullValue) {
          if (json !== null && json !== 'NULL_VALUE') this.fail(`expected null, got ${describeJson(json)}`);
          return;
        }
        const value = parseEnum(kind.enumType, json);
        if (value instanceof Invalid) this.fail(value.message);
        else if (rules) this.values(rules, value);
        return;
      }
      case 'message':
        this.message(planFor(kind.type), json, validate && !rules?.skip, rules);
    }
  }

  private values(rules: CompiledRules, value: unknown, prefix = ''): void {
    if (rules.ignoreEmpty && isEmptyValue(value)) return;
    for (const check of rules.value) {
      const violation = check(value);
      if (violation !== undefined) this.fail(prefix + violation);
    }
  }

  private unset(field: FieldPlan): void {
    const rules = field.rules as CompiledRules;
    this.path.push(field.name);
    if (field.cardinality.kind !== 'single') this.collection(rules, [], field.cardinality.kind);
    else if (field.element.kind === 'message') this.fail(`required field is not set ((validate.rules).${ruleFamily(field.element.type)}.required)`);
    else this.values(rules, field.element.kind === 'scalar' ? scalarDefault(field.element.scalar) : 0);
    this.path.pop();
  }

  private wellKnown(plan: MessagePlan, json: unknown, rules: CompiledRules | undefined, validate: boolean): void {
    switch (plan.wellKnown) {
      case 'duration': {
        const value = parseDuration(json);
        if (value instanceof Invalid) return this.fail(value.message);
        // Envoy rejects negative durations wherever it converts them, whatever the proto rules say.
        if (isNegative(value)) return this.fail(`negative duration ${String(json)}: Envoy requires durations between 0s and ${MAX_DURATION_SECONDS}s`);
        if (rules) this.values(rules, value);
        return;
      }
      case 'timestamp': {
        const value = parseTimestamp(json);
        if (value instanceof Invalid) this.fail(value.message);
        else if (rules) this.values(rules, value);
        return;
      }
      case 'wrapper': {
        const value = parseScalar(plan.wrapperScalar!, json);
        if (value instanceof Invalid) this.fail(`${value.message} (${plan.fullName} is written as a bare value)`);
        else if (rules) this.values(rules, value);
        return;
      }
      case 'fieldmask':
        if (typeof json !== 'string') this.fail(`expected a comma-separated field mask string, got ${describeJson(json)}`);
        return;
      case 'struct':
        if (!isPlainObject(json)) this.fail(`expected an object (google.protobuf.Struct), got ${describeJson(json)}`);
        return;
      case 'listvalue':
        if (!Array.isArray(json)) this.fail(`expected a list (google.protobuf.ListValue), got ${describeJson(json)}`);
        return;
      case 'value':
        return;
      case 'any':
        this.any(json, rules, validate);
    }
  }

  private any(json: unknown, rules: CompiledRules | undefined, validate: boolean): void {
    if (!isPlainObject(json)) {
      this.fail(`expected an object with "@type" (google.protobuf.Any), got ${describeJson(json)}`);
      return;
    }
    const url = json[TYPE_KEY];
    if (url === undefined) {
      this.fail('missing "@type": a google.protobuf.Any needs a type URL like "type.googleapis.com/<full.type.Name>"');
      return;
    }
    if (typeof url !== 'string' || !url.includes('/')) {
      this.fail(`expected a type URL like "type.googleapis.com/<full.type.Name>", got ${describeJson(url)}`, new KeySegment(TYPE_KEY));
      return;
    }
    const type = lookupMessageType(typeNameFromUrl(url));
    if (!type) {
      this.fail(`cannot resolve type ${JSON.stringify(typeNameFromUrl(url))} of Any type URL ${JSON.stringify(url)}${UNRESOLVED_HINT}`, new KeySegment(TYPE_KEY));
      return;
    }
    if (rules) this.values(rules, url);
    const plan = planFor(type);
    if (!isValueWrappedInAny(plan.wellKnown)) {
      this.message(plan, json, validate, undefined, true);
      if (TYPED_STRUCTS.has(plan.fullName)) this.typedStruct(json, validate);
      return;
    }
    for (const key of Object.keys(json)) {
      if (key !== TYPE_KEY && key !== 'value') this.fail(`unknown field "${key}": an Any of ${plan.fullName} carries its JSON under "value"`, key);
    }
    if (json.value !== undefined && (json.value !== null || plan.wellKnown === 'value')) {
      this.path.push('value');
      this.message(plan, json.value, validate, undefined);
      this.path.pop();
    }
  }

  // Envoy turns a TypedStruct into the message named by its type_url, so its `value` must parse as that message.
  private typedStruct(json: Record<string, unknown>, validate: boolean): void {
    const url = json.type_url ?? json.typeUrl;
    if (typeof url !== 'string' || url === '') {
      this.fail('a TypedStruct needs a type_url naming the message in "value"', 'type_url');
      return;
    }
    const type = lookupMessageType(typeNameFromUrl(url));
    if (!type) {
      this.fail(`cannot resolve type ${JSON.stringify(typeNameFromUrl(url))} of TypedStruct type_url${UNRESOLVED_HINT}`, 'type_url');
      return;
    }
    this.path.push('value');
    this.message(planFor(type), json.value ?? {}, validate, undefined);
    this.path.pop();
  }
}

function ruleFamily(type: protobuf.Type): string {
  const name = fullNameOf(type);
  return name === 'google.protobuf.Duration' ? 'duration' : name === 'google.protobuf.Timestamp' ? 'timestamp' : name === 'google.protobuf.Any' ? 'any' : 'message';
}

/**
 * Checks canonical proto3 JSON (as Envoy reads YAML/JSON config) against a message type of the Envoy protos:
 * unknown fields, JSON kinds, enum names, Any type URLs and payloads, oneofs, and the `(validate.rules)` that matter.
 */
export function checkMessage(typeName: string, json: unknown, options: CheckOptions = {}): Problem[] {
  const name = typeName.startsWith('.') ? typeName.slice(1) : typeName;
  const type = lookupMessageType(name);
  if (!type) return [{ path: '', message: `unknown message type ${name}` }];
  const walker = new Walker(options);
  walker.message(planFor(type), json, true, undefined);
  return walker.problems;
}
