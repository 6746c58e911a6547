import { parse as parseYaml, YAMLParseError } from 'yaml';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { problemsFromZod, type Problem } from './problems.js';
import { policySchema } from './schema.js';

export type LoadResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: Problem[] };

/** Parses, validates and compiles a policy document (YAML or JSON text), returning every problem with its path. */
export function loadPolicyText(text: string): LoadResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}` : '(document)';
    return { ok: false, problems: [{ path: where, message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }] };
  }
  return loadPolicyObject(raw);
}

export function loadPolicyObject(raw: unknown): LoadResult {
  const parsed = policySchema.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, problems: problemsFromZod(parsed.error) };
  const { policy, problems } = compilePolicy(parsed.data);
  if (!policy) return { ok: false, problems };
  return { ok: true, policy };
}
