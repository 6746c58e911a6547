import { compileAlertsPlan } from '../alerts/index.js';
import { compileIdentityResolver } from '../identity/resolver.js';
import { ruleCount } from '../policy/compile.js';
import { parsePolicyText } from '../policy/parse.js';
import { problemsFromZod, type Problem } from '../policy/problems.js';
import { referenceProblems, referenceShapeOf } from '../policy/references.js';
import { policySchema, type PolicyDocument } from '../policy/schema.js';
import { parsePolicyUpdate } from '../policy/secrets.js';
import { LIMITS } from '../config/limits.js';
import { sha256Hex, type ParseLimit } from './policy-version.js';
import { compileScrubPlan } from './scrub-plan.js';

/** Allow rules per chunk: one chunk is parsed and indexed between two turns of the event loop (~1–3 ms each). */
export const RULES_PER_CHUNK = 1000;

/**
 * A policy that passed every check (limits, YAML, schema, references, identities, scrub, alerts), as strings: cheap
 * to post from the worker (a string is copied, not walked like structured clone walks an object graph) and cheap to
 * compile on the event loop in slices. `head` is the validated document (zod's output, defaults filled) with every
 * `allow` list empty; each chunk holds the next rules of one block.
 */
export interface PreparedPolicy {
  /** Set only when the text to install differs from the text sent (secret placeholders put back). */
  text?: string;
  sha256: string;
  rules: number;
  head: string;
  chunks: string[];
}

export type PrepareResult = { ok: true; prepared: PreparedPolicy } | { ok: false; problems: Problem[]; limit?: ParseLimit };

/** A policy that passed every check, as a document (for an in-thread build, e.g. at startup when nothing is served yet). */
export interface CheckedPolicy {
  text?: string;
  sha256: string;
  rules: number;
  document: PolicyDocument;
}

export type CheckResult = { ok: true; checked: CheckedPolicy } | { ok: false; problems: Problem[]; limit?: ParseLimit };

/**
 * Everything in a policy build that may take long or refuse the text, meant for the parse worker: only indexing the
 * rules and building identity/scrub matchers (which hold functions, so cannot be posted) is left for the event loop.
 * With `known`, secret placeholders are put back (API writes); without, the text is taken as written (files, store).
 */
export function preparePolicy(text: string, known?: ReadonlyMap<string, string>): PrepareResult {
  const result = checkPolicy(text, known);
  if (!result.ok) return result;
  const { document, ...rest } = result.checked;
  return { ok: true, prepared: { ...rest, ...split(document) } };
}

/** The checks of `preparePolicy` without turning the document into strings. */
export function checkPolicy(text: string, known?: ReadonlyMap<string, string>): CheckResult {
  const parsed = known ? parsePolicyUpdate(text, known) : parsePolicyText(text);
  if (!parsed.ok) return parsed;
  const installed = parsed.text ?? text;
  const checked = policySchema.safeParse(parsed.document ?? {});
  if (!checked.success) return { ok: false, problems: [...problemsFromZod(checked.error), ...referenceProblems(referenceShapeOf(parsed.document))] };
  const document = checked.data;
  const problems = referenceProblems(document);
  const rules = ruleCount(document);
  if (rules > LIMITS.policyRules) problems.push({ path: 'egress', message: `the policy has ${rules} allow rules; the limit is ${LIMITS.policyRules}` });
  compileIdentityResolver(document, problems);
  compileScrubPlan(document, problems);
  compileAlertsPlan(document.alerts, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, checked: { ...(parsed.text !== undefined && parsed.text !== text ? { text: installed } : {}), sha256: sha256Hex(installed), rules, document } };
}

function split(document: PolicyDocument): { head: string; chunks: string[] } {
  const chunks: string[] = [];
  document.egress.forEach((block, b) => {
    for (let from = 0; from < block.allow.length; from += RULES_PER_CHUNK) chunks.push(JSON.stringify({ b, allow: block.allow.slice(from, from + RULES_PER_CHUNK) }));
  });
  const head = JSON.stringify({ ...document, egress: document.egress.map((block) => ({ ...block, allow: [] })) });
  return { head, chunks };
}
