import { compileAlertsPlan } from '../alerts/index.js';
import { compileIdentityResolver } from '../identity/resolver.js';
import { RuleIndexBuilder } from '../policy/compile.js';
import type { Problem } from '../policy/problems.js';
import type { AllowRule, PolicyDocument } from '../policy/schema.js';
import type { CheckedPolicy, PreparedPolicy } from './policy-prepare.js';
import type { BuildResult } from './policy-version.js';
import { compileScrubPlan } from './scrub-plan.js';

/** Lets the event loop run (Checks are answered) between two slices of a compile. */
export type Yield = () => Promise<void>;

export const yieldToEventLoop: Yield = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Builds the installable policy from a prepared (already validated) one on the event loop, one chunk of rules per
 * slice with a yield between slices, so a 10,000-rule reload never holds Checks for more than one chunk's work.
 * Nothing here can refuse the policy: the problems array only guards against a mismatch with `preparePolicy`.
 */
export async function compilePrepared(text: string, prepared: PreparedPolicy, pause: Yield = yieldToEventLoop): Promise<BuildResult> {
  const document = JSON.parse(prepared.head) as PolicyDocument;
  const builder = new RuleIndexBuilder();
  for (const chunk of prepared.chunks) {
    await pause();
    const { b, allow } = JSON.parse(chunk) as { b: number; allow: AllowRule[] };
    const block = document.egress[b]!;
    const from = block.allow.length;
    for (const rule of allow) block.allow.push(rule);
    builder.addRules(block, b, from);
  }
  await pause();
  return finish(text, prepared, document, builder);
}

/** The same build in one go from a checked document, for when nothing is being served yet (startup, CLI). */
export function compileChecked(text: string, checked: CheckedPolicy): BuildResult {
  const builder = new RuleIndexBuilder();
  checked.document.egress.forEach((block, b) => builder.addRules(block, b));
  return finish(text, checked, checked.document, builder);
}

function finish(text: string, checked: { text?: string; sha256: string }, document: PolicyDocument, builder: RuleIndexBuilder): BuildResult {
  const problems: Problem[] = [];
  const policy = builder.finish(document, problems);
  const identities = compileIdentityResolver(document, problems);
  const scrub = compileScrubPlan(document, problems);
  const alerts = compileAlertsPlan(document.alerts, problems);
  if (!policy || problems.length > 0) return { ok: false, problems };
  return { ok: true, build: { sha256: checked.sha256, text: checked.text ?? text, policy, identities, scrub, alerts } };
}
