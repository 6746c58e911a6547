import { defaultPort, normalizeRuleHost } from './host.js';
import { compilePathPattern, type PathMatcher } from './paths.js';
import type { Problem } from './problems.js';
import { referenceProblems } from './references.js';
import { LIMITS } from '../config/limits.js';
import type { IdentitySource, Mode, PolicyDocument } from './schema.js';

/** One allow rule, flattened and pre-compiled. */
export interface CompiledRule {
  id: string;
  identity: string;
  host: string;
  wildcard: boolean;
  scheme: 'http' | 'https';
  port: number | '*';
  methods: ReadonlySet<string> | undefined;
  paths: readonly PathMatcher[] | undefined;
  pathPatterns: readonly string[] | undefined;
  /** Mode set on the rule or its egress block; undefined = inherit from identity/default. */
  mode: Mode | undefined;
}

export interface CompiledPolicy {
  document: PolicyDocument;
  rules: readonly CompiledRule[];
  /** Exact host → rules in file order. */
  exact: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Wildcard suffix (`stripe.com` for `*.stripe.com`) → rules in file order. */
  wildcard: ReadonlyMap<string, readonly CompiledRule[]>;
  identityModes: ReadonlyMap<string, Mode>;
  identityNames: ReadonlySet<string>;
  defaultMode: Mode;
  ssrfProtection: boolean;
  resolveWildcards: boolean;
  identitySources: readonly IdentitySource[];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Compiles a schema-valid document into host-indexed matchers. Returns the cross-field problems
 * the schema cannot see (unknown identity names, duplicate ids, bad IP literals).
 */
export function compilePolicy(document: PolicyDocument): { policy?: CompiledPolicy; problems: Problem[] } {
  const problems: Problem[] = referenceProblems(document);
  const identityNames = new Set<string>();
  const identityModes = new Map<string, Mode>();
  for (const identity of document.identities) {
    identityNames.add(identity.name);
    if (identity.mode) identityModes.set(identity.name, identity.mode);
  }

  const rules: CompiledRule[] = [];
  const exact = new Map<string, CompiledRule[]>();
  const wildcard = new Map<string, CompiledRule[]>();
  document.egress.forEach((block, b) => {
    block.allow.forEach((rule, r) => {
      const path = `egress[${b}].allow[${r}]`;
      const id = rule.id ?? path;
      const host = normalizeRuleHost(rule.host);
      const isWildcard = host.startsWith('*.');
      const compiled: CompiledRule = {
        id,
        identity: block.identity,
        host,
        wildcard: isWildcard,
        scheme: rule.scheme,
        port: rule.port ?? defaultPort(rule.scheme),
        methods: rule.methods ? new Set(rule.methods) : undefined,
        paths: rule.paths?.map(compilePathPattern),
        pathPatterns: rule.paths,
        mode: rule.mode ?? block.mode,
      };
      rules.push(compiled);
      if (isWildcard) push(wildcard, host.slice(2), compiled);
      else push(exact, host, compiled);
    });
  });
  if (rules.length > LIMITS.policyRules) problems.push({ path: 'egress', message: `the policy has ${rules.length} allow rules; the limit is ${LIMITS.policyRules}` });
  if (problems.length > 0) return { problems };
  return {
    problems,
    policy: {
      document,
      rules,
      exact,
      wildcard,
      identityModes,
      identityNames,
      defaultMode: document.defaults.mode,
      ssrfProtection: document.defaults.ssrfProtection,
      resolveWildcards: document.defaults.resolveWildcards,
      identitySources: document.identitySources,
    },
  };
}
