import { Document } from 'yaml';
import { splitDestination } from './destination.js';

/** One observed edge, as the inventory (or an audit log reader) reports it. */
export interface ObservedEdge {
  identity: string;
  destination: string;
  method: string;
  path_template: string;
  /** Requests that were let through: `allow` plus `report_deny` (report mode). */
  allowed: number;
}

export interface SuggestOptions {
  /**
   * The current policy document as parsed YAML/JSON. Everything but `egress` is carried over
   * unchanged (identities stay references); without it the output has no identities section.
   */
  base?: Record<string, unknown>;
  /** Stated in the header comment. */
  since?: Date;
  /** More distinct paths than this on one rule collapse to `/<first segment>/**` (default 25). */
  maxPathsPerRule?: number;
}

export interface SkippedIdentity {
  identity: string;
  requests: number;
  reason: string;
}

export interface Suggestion {
  yaml: string;
  /** The policy document the YAML encodes. */
  document: Record<string, unknown>;
  rules: number;
  skipped: SkippedIdentity[];
}

interface RuleDraft {
  host: string;
  port: number | undefined;
  methods: Set<string>;
  paths: Set<string>;
  requests: number;
}

/** `/v1/customers/{id}/charges` → `/v1/customers/*` + `/charges`; a template cut at 256 characters ends in `**`. */
export function templateToGlob(template: string): string {
  let p = template.startsWith('/') ? template : `/${template}`;
  if (p.endsWith('…')) p = `${p.slice(0, -1)}**`;
  return p.replace(/\{id\}/g, '*').replace(/\*{3,}/g, '**');
}

/**
 * Turns observed allowed traffic into a least-privilege policy: per identity an egress block, per
 * destination (host and port) one rule allowing exactly the methods seen and the paths seen (path
 * templates as globs). Sorted throughout, so the same traffic always gives the same YAML.
 * Traffic from `unknown` and from identities the base policy does not define is left out and
 * listed in `skipped` (a rule cannot name an identity the policy does not define).
 */
export function suggestPolicy(observed: Iterable<ObservedEdge>, opts: SuggestOptions = {}): Suggestion {
  const maxPaths = opts.maxPathsPerRule ?? 25;
  const defined = opts.base ? definedIdentities(opts.base) : undefined;
  const byIdentity = new Map<string, Map<string, RuleDraft>>();
  const skipped = new Map<string, SkippedIdentity>();

  for (const e of observed) {
    if (e.allowed <= 0) continue;
    const why = e.identity === 'unknown' ? 'callers without an identity: give those workloads one, then re-run' : defined && !defined.has(e.identity) ? 'not defined in the current policy' : undefined;
    if (why) {
      const s = skipped.get(e.identity) ?? { identity: e.identity, requests: 0, reason: why };
      s.requests += e.allowed;
      skipped.set(e.identity, s);
      continue;
    }
    const { host, port } = splitDestination(e.destination);
    const effectivePort = port === 443 ? undefined : port;
    let rules = byIdentity.get(e.identity);
    if (!rules) byIdentity.set(e.identity, (rules = new Map()));
    const ruleKey = `${host}\n${effectivePort ?? ''}`;
    let rule = rules.get(ruleKey);
    if (!rule) rules.set(ruleKey, (rule = { host, port: effectivePort, methods: new Set(), paths: new Set(), requests: 0 }));
    rule.methods.add(e.method.toUpperCase());
    if (e.path_template !== '') rule.paths.add(templateToGlob(e.path_template));
    rule.requests += e.allowed;
  }

  let ruleCount = 0;
  const egress = [...byIdentity.keys()].sort().map((identity) => {
    const drafts = [...byIdentity.get(identity)!.values()].sort((a, b) => cmp(a.host, b.host) || (a.port ?? 443) - (b.port ?? 443));
    const allow = drafts.map((d) => {
      ruleCount++;
      const methods = [...d.methods].sort();
      const rule: Record<string, unknown> = { id: ruleId(identity, d.host, d.port), host: d.host };
      if (d.port === 80) rule.scheme = 'http';
      if (d.port !== undefined) rule.port = d.port;
      rule.methods = methods;
      // A CONNECT tunnel hides its paths, so a rule that must allow one cannot restrict them.
      const paths = methods.includes('CONNECT') ? [] : collapsePaths([...d.paths].sort(), maxPaths);
      if (paths.length > 0) rule.paths = paths;
      return rule;
    });
    return { identity, allow };
  });

  const document: Record<string, unknown> = opts.base ? { ...opts.base, egress } : { version: 1, egress };
  if (!('version' in document)) document.version = 1;
  const ordered: Record<string, unknown> = { version: document.version };
  for (const [k, v] of Object.entries(document)) if (k !== 'version') ordered[k] = v;

  const doc = new Document(ordered);
  const header = [
    ` Suggested by "tollgate suggest-policy" from traffic observed${opts.since ? ` since ${opts.since.toISOString()}` : ''}:`,
    ` ${ruleCount} rule(s) allowing exactly the methods and paths seen. Review before enforcing.`,
  ];
  if (!opts.base) header.push(' No current policy given: copy its identities section here (or pass --policy).');
  for (const s of [...skipped.values()].sort((a, b) => cmp(a.identity, b.identity))) header.push(` Left out: ${s.identity} (${s.requests} requests): ${s.reason}.`);
  doc.commentBefore = header.join('\n');
  return { yaml: doc.toString({ lineWidth: 0 }), document: ordered, rules: ruleCount, skipped: [...skipped.values()] };
}

function definedIdentities(base: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  if (Array.isArray(base.identities)) {
    for (const i of base.identities as unknown[]) {
      const n = (i as { name?: unknown } | null)?.name;
      if (typeof n === 'string') names.add(n);
    }
  }
  return names;
}

function ruleId(identity: string, host: string, port: number | undefined): string {
  return `${identity}:${host}${port === undefined ? '' : `:${port}`}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/** Keeps the rule readable when an API has many paths: `/v1/**` per first segment, or no path limit at all. */
function collapsePaths(paths: string[], max: number): string[] {
  if (paths.length <= max) return paths;
  const firsts = [...new Set(paths.map((p) => (p.split('/')[1] ? `/${p.split('/')[1]}/**` : '/')))].sort();
  return firsts.length <= max ? firsts : [];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
