import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes objects of many kinds, read field by field in tests

/** Where a rendered object came from, for failure messages. */
export interface Rendered {
  source: string;
  object: Manifest;
}

export function readYamlDocuments(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) out.push(value);
  }
  return out;
}

const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'namespace', 'labels', 'images']);

/** List fields that strategic merge patch merges by a key (Kubernetes `patchMergeKey`); every other list is replaced. */
const MERGE_KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath' };

/**
 * What `kustomize build DIR` produces for the subset of kustomize this repository uses: resources (files and
 * directories), components, strategic merge patches by path, namespace, labels and images. Anything else in a
 * kustomization.yaml is an error rather than silently ignored.
 */
export function renderKustomization(dir: string): Rendered[] {
  const file = join(dir, 'kustomization.yaml');
  const k = readYamlDocuments(file)[0] ?? {};
  for (const key of Object.keys(k)) if (!KNOWN_KEYS.has(key)) throw new Error(`${file}: "${key}" is not supported by the test's renderer`);
  let out: Rendered[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const path = resolve(dir, r);
    if (statSync(path).isDirectory()) out.push(...renderKustomization(path));
    else out.push(...readYamlDocuments(path).map((object) => ({ source: path, object })));
  }
  for (const c of (k.components ?? []) as string[]) {
    const componentDir = resolve(dir, c);
    const component = readYamlDocuments(join(componentDir, 'kustomization.yaml'))[0] ?? {};
    if (component.kind !== 'Component') throw new Error(`${componentDir}: not a kustomize Component`);
    out = applyKustomization(out, component, componentDir);
  }
  return applyKustomization(out, { ...k, resources: undefined }, dir);
}

function applyKustomization(input: Rendered[], k: Manifest, dir: string): Rendered[] {
  let out = input.map((r) => ({ ...r, object: structuredClone(r.object) }));
  for (const r of (k.resources ?? []) as string[]) out.push(...readYamlDocuments(resolve(dir, r)).map((object) => ({ source: resolve(dir, r), object })));
  for (const p of (k.patches ?? []) as Array<{ path?: string }>) {
    if (!p.path || Object.keys(p).length !== 1) throw new Error(`${dir}: only \`patches: - path: FILE\` is supported`);
    const patchFile = resolve(dir, p.path);
    for (const patch of readYamlDocuments(patchFile)) {
      const target = out.find((r) => sameObject(r.object, patch));
      if (!target) throw new Error(`${patchFile}: no ${patch.kind} ${patch.metadata?.namespace}/${patch.metadata?.name} to patch`);
      target.object = strategicMerge(target.object, patch) as Manifest;
    }
  }
  if (typeof k.namespace === 'string') {
    out = out.map((r) => (r.object.kind === 'Namespace' ? r : { ...r, object: { ...r.object, metadata: { ...r.object.metadata, namespace: k.namespace } } }));
  }
  for (const l of (k.labels ?? []) as Array<{ pairs: Record<string, string> }>) {
    for (const r of out) r.object.metadata = { ...r.object.metadata, labels: { ...(r.object.metadata?.labels ?? {}), ...l.pairs } };
  }
  for (const image of (k.images ?? []) as Array<{ name: string; newName?: string; newTag?: string }>) {
    for (const r of out) {
      const spec = r.object.spec?.template?.spec;
      for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
        const [name, tag] = String(c.image).split(':');
        if (name === image.name) c.image = `${image.newName ?? name}:${image.newTag ?? tag ?? 'latest'}`;
      }
    }
  }
  return out;
}

function sameObject(a: Manifest, b: Manifest): boolean {
  return a.apiVersion === b.apiVersion && a.kind === b.kind && a.metadata?.name === b.metadata?.name && a.metadata?.namespace === b.metadata?.namespace;
}

function isPlainObject(v: unknown): v is Manifest {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strategic merge patch as the API server applies it for the fields used here: maps merge, `null` deletes, keyed lists merge. */
export function strategicMerge(base: unknown, patch: unknown, field = ''): unknown {
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out: Manifest = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = strategicMerge(base[key], value, key);
    }
    return out;
  }
  const mergeKey = MERGE_KEYS[field];
  if (mergeKey && Array.isArray(base) && Array.isArray(patch)) {
    const out = base.map((item) => structuredClone(item) as Manifest);
    for (const item of patch as Manifest[]) {
      const i = out.findIndex((b) => b[mergeKey] === item[mergeKey]);
      if (i === -1) out.push(structuredClone(item));
      else out[i] = strategicMerge(out[i], item) as Manifest;
    }
    return out;
  }
  return structuredClone(patch);
}

export const DEPLOY_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../../../deploy');
