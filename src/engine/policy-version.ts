import { createHash } from 'node:crypto';
import { compileIdentityResolver, type IdentityResolver } from '../identity/resolver.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { loadPolicyObject } from '../policy/load.js';
import { parsePolicyText, type LimitName } from '../policy/parse.js';

export type ParseLimit = { name: LimitName; value: number };
import type { Problem } from '../policy/problems.js';
import { compileScrubPlan, type ScrubPlan } from './scrub-plan.js';
import { compileAlertsPlan, type AlertsPlan } from '../alerts/index.js';

/** One immutable, fully compiled policy version: what every request is decided against. */
export interface PolicyVersion {
  version: number;
  etag: string;
  sha256: string;
  text: string;
  policy: CompiledPolicy;
  identities: IdentityResolver;
  scrub: ScrubPlan;
  alerts: AlertsPlan;
  loadedAt: string;
}

export type BuildResult = { ok: true; build: Omit<PolicyVersion, 'version' | 'etag' | 'loadedAt'> } | { ok: false; problems: Problem[]; limit?: ParseLimit };

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Validates and compiles policy text (schema, cross-references, identity sources) without installing it. */
export function buildPolicy(text: string): BuildResult {
  const parsed = parsePolicyText(text);
  return parsed.ok ? buildPolicyFromDocument(text, parsed.document) : parsed;
}

/** The compile half of `buildPolicy`, for text already parsed (and bounded) elsewhere, e.g. in the parse worker. */
export function buildPolicyFromDocument(text: string, document: unknown): BuildResult {
  const loaded = loadPolicyObject(document);
  if (!loaded.ok) return loaded;
  const problems: Problem[] = [];
  const identities = compileIdentityResolver(loaded.policy.document, problems);
  const scrub = compileScrubPlan(loaded.policy.document, problems);
  const alerts = compileAlertsPlan(loaded.policy.document.alerts, problems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, build: { sha256: sha256Hex(text), text, policy: loaded.policy, identities, scrub, alerts } };
}

export function etagFor(version: number, sha256: string): string {
  return `"${version}-${sha256.slice(0, 16)}"`;
}
