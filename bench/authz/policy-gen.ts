/**
 * Generates a large, realistic Tollgate policy for the Check benchmark: ~100 identities (SPIFFE exact and
 * wildcard, XFCC, source CIDR, signed header) and N allow rules spread over them, mixing exact hosts,
 * `*.` wildcards, ports, methods, path globs and report-mode rules. Deterministic (seeded PRNG).
 *
 * The benchmark's request is the billing workload posting to TARGET.host: billing is the last identity
 * and its block is the last in the file; several other identities have rules on the same host before it,
 * and a billing rule for the same host that does not allow POST comes first, so the lookup walks a list.
 */
import type { GatewayRequest } from '../../test/drivers/envoy-ext-authz-driver.js';
import { Document, isMap, isSeq, visit } from 'yaml';
import { mulberry32 } from '../lib/rng.js';

export const TARGET = {
  principal: 'spiffe://prod.example/ns/billing/sa/web',
  identity: 'billing',
  host: 'api.vendor-1999.com',
  method: 'POST',
  path: '/v1/charges/ch_123?expand=customer',
  ruleId: 'billing-vendor-1999-charges',
} as const;

const WORDS = ['charges', 'customers', 'invoices', 'files', 'events', 'users', 'orders', 'items', 'reports', 'tokens', 'search', 'upload', 'messages', 'repos', 'builds'];
const METHOD_SETS = [['GET'], ['GET', 'HEAD'], ['POST'], ['GET', 'POST'], ['PUT', 'PATCH'], ['GET', 'POST', 'PUT', 'DELETE']];

interface Rule {
  id: string;
  host: string;
  port?: number | '*';
  methods?: string[];
  paths?: string[];
  mode?: 'report';
}

export interface GeneratedPolicy {
  yaml: string;
  rules: number;
  identities: number;
  exactHosts: number;
  wildcardSuffixes: number;
}

export function generatePolicy(ruleCount = 10_000, seed = 42): GeneratedPolicy {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const VENDORS = 2000;

  const identities: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 60; i++) {
    identities.push({ name: `svc-${i}`, match: { spiffe: i % 2 === 0 ? `spiffe://prod.example/ns/team-${i}/sa/*` : `spiffe://prod.example/ns/team-${i}/sa/api` } });
  }
  for (let i = 0; i < 15; i++) identities.push({ name: `mesh-${i}`, match: { xfcc: `spiffe://mesh.example/ns/legacy-${i}/sa/*` } });
  for (let i = 0; i < 15; i++) {
    identities.push({ name: `batch-${i}`, ...(i % 5 === 0 ? { mode: 'report' } : {}), match: { sourceCidr: [`10.${100 + i}.0.0/16`, `fd00:${i + 1}::/48`] } });
  }
  for (let i = 0; i < 8; i++) identities.push({ name: `ci-${i}`, match: { signedSubject: `ci-runner-${i}` } });
  identities.push({ name: TARGET.identity, match: { spiffe: 'spiffe://prod.example/ns/billing/sa/*' } });
  const names = identities.map((i) => i.name as string).filter((n) => n !== TARGET.identity);

  const exact = new Set<string>();
  const wild = new Set<string>();
  const randomRule = (id: string): Rule => {
    const v = Math.floor(rnd() * VENDORS);
    const r = rnd();
    let host: string;
    if (r < 0.2) {
      host = pick([`*.vendor-${v}.com`, `*.eu.vendor-${v}.io`, `*.cdn-${v}.net`]);
      wild.add(host.slice(2));
    } else {
      host = pick([`api.vendor-${v}.com`, `files.vendor-${v}.com`, `vendor-${v}.com`, `upload.eu.vendor-${v}.io`, `api.vendor-${v}.com`]);
      exact.add(host);
    }
    const rule: Rule = { id, host };
    const p = rnd();
    if (p < 0.15) rule.port = 8443;
    else if (p < 0.25) rule.port = '*';
    else if (p < 0.3) rule.port = 443;
    if (rnd() < 0.55) rule.methods = [...pick(METHOD_SETS)];
    if (rnd() < 0.6) {
      const w = pick(WORDS);
      const n = 1 + Math.floor(rnd() * 3);
      rule.paths = [`/v${n}/${w}/**`, `/v${n}/${pick(WORDS)}/*`, `/api/*/${w}`].slice(0, 1 + Math.floor(rnd() * 3));
    }
    if (rnd() < 0.05) rule.mode = 'report';
    return rule;
  };

  // Fixed rules around the target host, then random rules; billing's block goes last.
  const targetNeighbours = 6;
  const billingRules = 100;
  const wildcardAllRules = 50;
  const randomRules = ruleCount - targetNeighbours - billingRules - wildcardAllRules;
  if (randomRules < 0) throw new Error(`ruleCount must be at least ${targetNeighbours + billingRules + wildcardAllRules}`);

  const blocks = new Map<string, Rule[]>(names.map((n) => [n, []]));
  for (let i = 0; i < randomRules; i++) {
    const who = pick(names);
    blocks.get(who)!.push(randomRule(`${who}-r${i}`));
  }
  for (let i = 0; i < targetNeighbours; i++) {
    const who = names[(i * 13) % names.length]!;
    blocks.get(who)!.push({ id: `${who}-vendor-1999-${i}`, host: TARGET.host, methods: [...pick(METHOD_SETS)], paths: [`/v1/${pick(WORDS)}/**`] });
  }
  exact.add(TARGET.host);
  const egress: Array<Record<string, unknown>> = [];
  for (const [identity, allow] of blocks) if (allow.length > 0) egress.push({ identity, allow });
  egress.push({ identity: '*', allow: Array.from({ length: wildcardAllRules }, (_, i) => randomRule(`any-r${i}`)) });

  const billing: Rule[] = Array.from({ length: billingRules - 2 }, (_, i) => randomRule(`billing-r${i}`));
  billing.push({ id: 'billing-vendor-1999-balance', host: TARGET.host, methods: ['GET'], paths: ['/v1/balance'] });
  billing.push({ id: TARGET.ruleId, host: TARGET.host, methods: ['GET', 'POST'], paths: ['/v1/charges/**', '/v1/customers/*'] });
  egress.push({ identity: TARGET.identity, allow: billing });

  const doc = {
    version: 1,
    defaults: { mode: 'enforce', ssrfProtection: true, resolveWildcards: true },
    identitySources: ['mtls', 'xfcc', 'signed_header', 'source_cidr'],
    signedHeader: { header: 'x-tollgate-identity', hmac: { secret: { value: 'bench-hmac-secret-not-for-production' } } },
    identities,
    egress,
  };
  const header = `# Generated by bench/authz/policy-gen.ts (seed ${seed}): ${ruleCount} rules, ${identities.length} identities.\n`;
  return { yaml: header + compactYaml(doc), rules: ruleCount, identities: identities.length, exactHosts: exact.size, wildcardSuffixes: wild.size };
}

/** Block style down to each allow list, one rule per line in flow style: 10k rules stay under the 1 MiB policy limit (POLICY_LIMITS.maxBytes). */
function compactYaml(doc: object): string {
  const d = new Document(doc, { aliasDuplicateObjects: false });
  visit(d, {
    Pair(_, pair) {
      if ((pair.key as { value?: unknown } | null)?.value === 'allow' && isSeq(pair.value)) for (const rule of pair.value.items) if (isMap(rule)) rule.flow = true;
    },
  });
  return d.toString({ lineWidth: 0 });
}

/** The Check every ext_authz benchmark sends: an allow under the generated policy. */
export const REQUEST: GatewayRequest = {
  method: TARGET.method,
  authority: TARGET.host,
  path: TARGET.path,
  scheme: 'https',
  peerPrincipal: TARGET.principal,
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  sourceAddress: '10.0.5.7',
};
