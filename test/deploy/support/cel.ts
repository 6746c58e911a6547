import { parse as parseCel } from '@marcbachmann/cel-js';
import type { Manifest } from './kustomize.js';

type Schema = Record<string, unknown>;
type Rule = { rule: string; message?: string; messageExpression?: string };

const compiled = new Map<string, ReturnType<typeof parseCel>>();

/**
 * The value as CEL sees it under this schema: schema defaults applied to missing fields of present objects (the API
 * server defaults before it validates), integers as CEL ints (BigInt here), not doubles.
 */
function celValue(schema: Schema | undefined, data: unknown): unknown {
  if (data === null || data === undefined || !schema) return data;
  if (typeof data === 'object' && !Array.isArray(data) && schema.properties) {
    const present = data as Manifest;
    const defaults = Object.entries(schema.properties as Record<string, Schema>).filter(([k, s]) => s.default !== undefined && !(k in present));
    if (defaults.length > 0) data = { ...present, ...Object.fromEntries(defaults.map(([k, s]) => [k, structuredClone(s.default)])) };
  }
  if (schema.type === 'integer' && typeof data === 'number') return BigInt(data);
  if (Array.isArray(data)) return data.map((d) => celValue(schema.items as Schema | undefined, d));
  if (typeof data === 'object') {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const extra = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined;
    return Object.fromEntries(Object.entries(data as Manifest).map(([k, v]) => [k, celValue(props[k] ?? extra, v)]));
  }
  return data;
}

/**
 * The CRD's `x-kubernetes-validations` (CEL) rules evaluated on the object, `self` bound to the field each rule sits
 * on, as the API server does on create. Transition rules (`oldSelf`) only run on update and are skipped.
 */
export function celProblems(schema: Schema, data: unknown, path = ''): string[] {
  if (data === undefined || data === null) return [];
  const problems: string[] = [];
  for (const rule of (schema['x-kubernetes-validations'] ?? []) as Rule[]) {
    if (rule.rule.includes('oldSelf')) continue;
    let expr = compiled.get(rule.rule);
    if (!expr) {
      expr = parseCel(rule.rule);
      compiled.set(rule.rule, expr);
    }
    let ok: unknown;
    try {
      ok = expr({ self: celValue(schema, data) });
    } catch (err) {
      problems.push(`${path || '/'}: CEL rule could not be evaluated (${(err as Error).message}): ${rule.rule}`);
      continue;
    }
    if (ok !== true) problems.push(`${path || '/'}: ${rule.message ?? rule.rule}`);
  }
  if (Array.isArray(data)) {
    const items = schema.items as Schema | undefined;
    if (items) data.forEach((d, i) => problems.push(...celProblems(items, d, `${path}/${i}`)));
  } else if (typeof data === 'object') {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const extra = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined;
    for (const [k, v] of Object.entries(data as Manifest)) {
      const sub = props[k] ?? extra;
      if (sub) problems.push(...celProblems(sub, v, `${path}/${k}`));
    }
  }
  return problems;
}
