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
 * Builds the host index rule by rule, so a large policy can be compiled in slices between which the event loop
 * answers Checks (engine/policy-compile.ts). Host spellings, method sets and path lists repeat across rules, so each
 * distinct one is normalised or compiled once and shared: fewer objects per rule (memory) and less work per rule.
 */
export class RuleIndexBuilder {
  readonly rules: CompiledRule[] = [];
  private readonly exact = new Map<string, CompiledRule[]>();
  private readonly wildcard = new Map<string, CompiledRule[]>();
  private readonly hosts = new Map<string, string>();
  private readonly methodSets = new Map<string, ReadonlySet<string>>();
  private readonly pathLists = new Map<string, { matchers: readonly PathMatcher[]; patterns: readonly string[] }>();

  /** Adds `block.allow[from..to)` (`b`: the block's index, for default rule ids). */
  addRules(block: PolicyDocument['egress'][number], b: number, from = 0, to = block.allow.length): void {
    for (let r = from; r < to; r++) {
      const rule = block.allow[r]!;
      let host = this.hosts.get(rule.host);
      if (host === undefined) {
        host = normalizeRuleHost(rule.host);
        this.hosts.set(rule.host, host);
      }
      const isWildcard = host.startsWith('*.');
      const paths = rule.paths ? this.pathList(rule.paths) : undefined;
      const compiled: CompiledRule = {
        id: rule.id ?? `egress[${b}].allow[${r}]`,
        identity: block.identity,
        host,
        wildcard: isWildcard,
        scheme: rule.scheme,
        port: rule.port ?? defaultPort(rule.scheme),
        methods: rule.methods ? this.methodSet(rule.methods) : undefined,
        paths: paths?.matchers,
        pathPatterns: paths?.patterns,
        mode: rule.mode ?? block.mode,
      };
      this.rules.push(compiled);
      if (isWildcard) push(this.wildcard, host.slice(2), compiled);
      else push(this.exact, host, compiled);
    }
  }

  /** The compiled policy, or the rule-count problem. */
  finish(document: PolicyDocument, problems: Problem[]): CompiledPolicy | undefined {
    if (this.rules.length > LIMITS.policyRules) problems.push({ path: 'egress', message: `the policy has ${this.rules.length} allow rules; the limit is ${LIMITS.policyRules}` });
    if (problems.length > 0) return undefined;
    const identityNames = new Set<string>();
    const identityModes = new Map<string, Mode>();
    for (const identity of document.identities) {
      identityNames.add(identity.name);
      if (identity.mode) identityModes.set(identity.name, identity.mode);
    }
    return {
      document,
      rules: this.rules,
      exact: this.exact,
      wildcard: this.wildcard,
      identityModes,
      identityNames,
      defaultMode: document.defaults.mode,
      ssrfProtection: document.defaults.ssrfProtection,
      resolveWildcards: document.defaults.resolveWildcards,
      identitySources: document.identitySources,
    };
  }

  private methodSet(methods: readonly string[]): ReadonlySet<string> {
    const key = methods.join(' ');
    let set = this.methodSets.get(key);
    if (!set) {
      set = new Set(methods);
      this.methodSets.set(key, set);
    }
    return set;
  }

  private pathList(patterns: readonly string[]): { matchers: readonly PathMatcher[]; patterns: readonly string[] } {
    const key = patterns.join('\n');
    let list = this.pathLists.get(key);
    if (!list) {
      list = { matchers: patterns.map(compilePathPattern), patterns };
      this.pathLists.set(key, list);
    }
    return list;
  }
}

/** Allow rules in a policy document (counted before compiling, e.g. to size slices). */
export function ruleCount(document: PolicyDocument): number {
  let n = 0;
  for (const block of document.egress) n += block.allow.length;
  return n;
}

/**
 * Compiles a schema-valid document into host-indexed matchers. Returns the cross-field problems
 * the schema cannot see (unknown identity names, duplicate ids, bad IP literals).
 */
export function compilePolicy(document: PolicyDocument): { policy?: CompiledPolicy; problems: Problem[] } {
  const problems: Problem[] = referenceProblems(document);
  const count = ruleCount(document);
  if (count > LIMITS.policyRules) problems.push({ path: 'egress', message: `the policy has ${count} allow rules; the limit is ${LIMITS.policyRules}` });
  if (problems.length > 0) return { problems };
  const builder = new RuleIndexBuilder();
  document.egress.forEach((block, b) => builder.addRules(block, b));
  const policy = builder.finish(document, problems);
  return policy ? { problems, policy } : { problems };
}
