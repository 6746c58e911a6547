import { compilePolicy, type CompiledPolicy } from './compile.js';
import { problemsFromZod, type Problem } from './problems.js';
import { parsePolicyText, POLICY_LIMITS, type PolicyLimits } from './parse.js';
import { policySchema } from './schema.js';
import { referenceProblems, referenceShapeOf } from './references.js';

export type LoadResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: Problem[] };

/** Parses, validates and compiles a policy document (YAML or JSON text), returning every problem with its path. */
export function loadPolicyText(text: string, limits: PolicyLimits = POLICY_LIMITS): LoadResult {
  const parsed = parsePolicyText(text, limits);
  if (!parsed.ok) return parsed;
  return loadPolicyObject(parsed.document);
}

export function loadPolicyObject(raw: unknown): LoadResult {
  const parsed = policySchema.safeParse(raw ?? {});
  // Every problem at once: the references are checked on what is there even when the schema fails.
  if (!parsed.success) return { ok: false, problems: [...problemsFromZod(parsed.error), ...referenceProblems(referenceShapeOf(raw))] };
  const { policy, problems } = compilePolicy(parsed.data);
  if (!policy) return { ok: false, problems };
  return { ok: true, policy };
}
