import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { celProblems } from './cel.js';
import { DEPLOY_DIR, type Manifest } from './kustomize.js';

/** ../shared/schemas beside the repository (CRDs of Istio and Envoy Gateway). */
export const SHARED_SCHEMAS = resolve(DEPLOY_DIR, '../../shared/schemas');

type Schema = Record<string, unknown>;

/**
 * A CRD's openAPIV3Schema as the API server applies it under strict field validation: an object schema without
 * `x-kubernetes-preserve-unknown-fields` admits no other fields, `x-kubernetes-int-or-string` takes an integer or a
 * string, `nullable` admits null. CEL rules (`x-kubernetes-validations`) are evaluated separately (cel.ts).
 */
export function structuralToJsonSchema(schema: Schema, root = true): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'description' || key === 'default' || key === 'nullable') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([name, s]) =>
          [name, structuralToJsonSchema(s, false)],
        ),
      );
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = typeof value === 'object' && value !== null ? structuralToJsonSchema(value as Schema, false) : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      // In structural schemas these only add constraints to fields declared in `properties`, so they stay open.
      out[key] = (value as Schema[]).map((s) => ({ ...structuralToJsonSchema(s, false), additionalProperties: true }));
    } else {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (root) {
    // Every object has these, whether or not the CRD's schema lists them; the API server checks ObjectMeta itself.
    out.properties = { ...(out.properties as Schema), apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
  }
  const isObject = schema.type === 'object' || schema.properties !== undefined;
  if (isObject && schema['x-kubernetes-preserve-unknown-fields'] !== true && schema.additionalProperties === undefined) out.additionalProperties = false;
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const crdSchemas = new Map<string, Schema>();
const validators = new Map<string, ValidateFunction>();

/** `group/version/Kind` → openAPIV3Schema, for every served version of every CRD file in ../shared/schemas/<dir>. */
function loadCrds(dir: string): void {
  for (const file of readdirSync(join(SHARED_SCHEMAS, dir)).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(SHARED_SCHEMAS, dir, file), 'utf8')) as Manifest;
    for (const version of crd.spec.versions as Manifest[]) {
      if (version.served) crdSchemas.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, version.schema.openAPIV3Schema as Schema);
    }
  }
}
loadCrds('istio');
loadCrds('envoy-gateway');

/** Compiled on first use: the SecurityPolicy schema alone is half a megabyte. */
function validatorFor(kind: string): ValidateFunction | undefined {
  let validate = validators.get(kind);
  const schema = crdSchemas.get(kind);
  if (!validate && schema) {
    validate = ajv.compile(structuralToJsonSchema(schema));
    validators.set(kind, validate);
  }
  return validate;
}

export function hasCrdSchema(object: Manifest): boolean {
  return crdSchemas.has(`${object.apiVersion}/${object.kind}`);
}

/** Problems as `path: message`, or [] when the object passes its CRD's schema. */
export function crdProblems(object: Manifest): string[] {
  const validate = validatorFor(`${object.apiVersion}/${object.kind}`);
  if (!validate) return [`no CRD schema for ${object.apiVersion} ${object.kind}`];
  if (!validate(object)) return (validate.errors ?? []).map(formatAjvError);
  // CEL rules run only on an object that passed the schema, as in the API server.
  return celProblems(crdSchemas.get(`${object.apiVersion}/${object.kind}`)!, object);
}

function formatAjvError(e: ErrorObject): string {
  const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
  return `${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
}
