import protobuf from 'protobufjs';
import { areMessageRulesDisabled, compileFieldRules, isOneofRequired, rawFieldRules, type Cardinality, type CompiledRules, type RuleTarget } from './rules.js';
import { isScalarType, type ScalarType } from './scalars.js';
import { NULL_VALUE_ENUM, wellKnownKind, WRAPPER_SCALARS, type WellKnownKind } from './well-known.js';

/** What one value of a field is (the element of a repeated field, the value of a map). */
export type ElementKind =
  | { kind: 'scalar'; scalar: ScalarType }
  | { kind: 'enum'; enumType: protobuf.Enum; isNullValue: boolean }
  | { kind: 'message'; type: protobuf.Type };

export interface FieldPlan {
  name: string;
  jsonName: string;
  cardinality: Cardinality;
  element: ElementKind;
  /** The oneof this field belongs to, including proto3 `optional`'s synthetic oneof. */
  oneof: string | undefined;
  rules: CompiledRules | undefined;
  deprecated: boolean;
  /** True for google.protobuf.Value and NullValue fields, where JSON null is a value rather than "unset". */
  nullIsValue: boolean;
}

export interface RequiredOneof {
  name: string;
  members: FieldPlan[];
}

/** A message type compiled once for checking and encoding: key lookup by proto and JSON name, rules compiled. */
export interface MessagePlan {
  type: protobuf.Type;
  fullName: string;
  wellKnown: WellKnownKind | undefined;
  wrapperScalar: ScalarType | undefined;
  byKey: Map<string, FieldPlan>;
  fields: FieldPlan[];
  /** Fields outside oneofs whose rules can fail while the field is unset (min_len, required, min_items, ...). */
  checkedWhenUnset: FieldPlan[];
  requiredOneofs: RequiredOneof[];
  rulesDisabled: boolean;
}

const plans = new WeakMap<protobuf.Type, MessagePlan>();

/** protoc's default json_name: drop underscores, upper-case the letter after each. */
export function toJsonName(protoName: string): string {
  return protoName.replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function fullNameOf(reflection: protobuf.ReflectionObject): string {
  return reflection.fullName.startsWith('.') ? reflection.fullName.slice(1) : reflection.fullName;
}

function elementOf(field: protobuf.Field): ElementKind {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return { kind: 'message', type: resolved };
  if (resolved instanceof protobuf.Enum) return { kind: 'enum', enumType: resolved, isNullValue: fullNameOf(resolved) === NULL_VALUE_ENUM };
  if (isScalarType(field.type)) return { kind: 'scalar', scalar: field.type };
  throw new Error(`cannot resolve type ${field.type} of ${fullNameOf(field)}`);
}

function ruleTargetOf(element: ElementKind): RuleTarget {
  if (element.kind === 'scalar') return element;
  if (element.kind === 'enum') return { kind: 'enum', enumType: element.enumType };
  const name = fullNameOf(element.type);
  const wrapped = WRAPPER_SCALARS[name];
  if (wrapped) return { kind: 'scalar', scalar: wrapped };
  const wk = wellKnownKind(name);
  if (wk === 'duration' || wk === 'timestamp' || wk === 'any') return { kind: wk };
  return { kind: 'message' };
}

function cardinalityOf(field: protobuf.Field): Cardinality {
  if (field instanceof protobuf.MapField) {
    if (!isScalarType(field.keyType)) throw new Error(`unexpected map key type ${field.keyType}`);
    return { kind: 'map', key: field.keyType };
  }
  return field.repeated ? { kind: 'repeated' } : { kind: 'single' };
}

function compileField(field: protobuf.Field): FieldPlan {
  const element = elementOf(field);
  const cardinality = cardinalityOf(field);
  const jsonName = (field.options?.json_name as string | undefined) ?? toJsonName(field.name);
  const isValueType = element.kind === 'message' && fullNameOf(element.type) === 'google.protobuf.Value';
  return {
    name: field.name,
    jsonName,
    cardinality,
    element,
    oneof: field.partOf?.name,
    rules: compileFieldRules(rawFieldRules(field), ruleTargetOf(element), cardinality),
    deprecated: field.options?.deprecated === true,
    nullIsValue: cardinality.kind === 'single' && (isValueType || (element.kind === 'enum' && element.isNullValue)),
  };
}

function canFailUnset(plan: FieldPlan): boolean {
  const rules = plan.rules;
  if (!rules || plan.oneof !== undefined) return false;
  if (plan.cardinality.kind !== 'single') return rules.minItems > 0 && !rules.ignoreEmpty;
  if (plan.element.kind === 'message') return rules.required;
  return rules.value.length > 0 && !rules.ignoreEmpty;
}

function compile(type: protobuf.Type): MessagePlan {
  const fields = type.fieldsArray.map(compileField);
  const byKey = new Map<string, FieldPlan>();
  for (const f of fields) {
    byKey.set(f.name, f);
    byKey.set(f.jsonName, f);
  }
  const fullName = fullNameOf(type);
  return {
    type,
    fullName,
    wellKnown: wellKnownKind(fullName),
    wrapperScalar: WRAPPER_SCALARS[fullName],
    byKey,
    fields,
    checkedWhenUnset: fields.filter(canFailUnset),
    requiredOneofs: type.oneofsArray.filter(isOneofRequired).map((o) => ({
      name: o.name,
      members: o.fieldsArray.map((f) => byKey.get(f.name) as FieldPlan),
    })),
    rulesDisabled: areMessageRulesDisabled(type),
  };
}

/** The compiled plan of a message type, built on first use and cached for the life of the type. */
export function planFor(type: protobuf.Type): MessagePlan {
  let plan = plans.get(type);
  if (!plan) {
    plan = compile(type);
    plans.set(type, plan);
  }
  return plan;
}
