import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { DecideInput, Decision } from './decision.js';
import { parseAuthority } from './host.js';
import { blockedName, blockedRangeOf, parseIpLiteral } from './ip.js';
import { normalizeRequestPath } from './paths.js';
import type { Mode } from './schema.js';
import { redactPath, redactText } from '../scrub/path.js';

const PORT = 1;
const CONNECT = 2;
const METHOD = 3;
const PATH = 4;
type MissKind = typeof PORT | typeof CONNECT | typeof METHOD | typeof PATH;

/**
 * The rules that named the host and identity but not the rest: the first one, and the first with its own mode. Only
 * these two can name the nearest rule of a denial, and their reasons are only written when a request is denied.
 */
interface Misses {
  first: CompiledRule | undefined;
  firstKind: MissKind;
  withMode: CompiledRule | undefined;
  withModeKind: MissKind;
}

/**
 * Decides whether one outbound request may leave. Pure: the same policy and input always give the
 * same decision. Host lookup is a map hit for exact hosts plus one per label for wildcard suffixes,
 * so cost does not grow with the number of rules.
 */
export function decide(policy: CompiledPolicy, input: DecideInput): Decision {
  const authority = parseAuthority(input.authority);
  const identity = input.identity || 'unknown';
  if (!authority) {
    return deny(policy, identity, undefined, 'invalid-request', `"${redactText(truncate(input.authority))}" is not a valid destination host`, '(invalid)');
  }
  const method = input.method.toUpperCase();
  const isConnect = method === 'CONNECT';
  const path = isConnect ? '' : normalizeRequestPath(input.path);
  const misses: Misses = { first: undefined, firstKind: PORT, withMode: undefined, withModeKind: PORT };

  const exactRules = policy.exact.get(authority.host);
  const exactHit = exactRules && matchList(exactRules, identity, authority.port, method, isConnect, path, misses);
  if (exactHit) return allow(policy, identity, exactHit, authority.host, authority.port);

  if (policy.ssrfProtection) {
    const blocked = authority.isIp ? blockedRangeOf(parseIpLiteral(authority.host)!) : blockedName(authority.host);
    if (blocked) {
      const destination = dest(authority.host, authority.port);
      return deny(policy, identity, undefined, 'ssrf-guard', `${destination} is a ${blocked} address; only a rule naming it exactly can allow it`, destination);
    }
  }

  if (!authority.isIp) {
    let dot = authority.host.indexOf('.');
    while (dot !== -1) {
      const suffix = authority.host.slice(dot + 1);
      const rules = policy.wildcard.get(suffix);
      const hit = rules && matchList(rules, identity, authority.port, method, isConnect, path, misses);
      if (hit) return allow(policy, identity, hit, authority.host, authority.port);
      dot = authority.host.indexOf('.', dot + 1);
    }
  }

  const destination = dest(authority.host, authority.port);
  if (misses.first) {
    const near = misses.withMode ?? misses.first;
    const why = whyMissed(near, misses.withMode ? misses.withModeKind : misses.firstKind, authority.port, method, path);
    // Reasons are stored in the decision log: the path and method are the request's own, so no value may survive in them.
    return deny(policy, identity, near.mode, 'default-deny', redactText(`no rule allows ${identity} → ${method} ${destination}${redactPath(path)}; nearest rule ${near.id} ${why}`), destination);
  }
  return deny(policy, identity, undefined, 'default-deny', `no rule allows ${identity} to reach ${destination}`, destination);
}

function matchList(
  rules: readonly CompiledRule[],
  identity: string,
  port: number | undefined,
  method: string,
  isConnect: boolean,
  path: string,
  misses: Misses,
): CompiledRule | undefined {
  for (const rule of rules) {
    if (rule.identity !== identity && rule.identity !== '*') continue;
    if (port !== undefined && rule.port !== '*' && rule.port !== port) {
      missed(misses, rule, PORT);
      continue;
    }
    if (isConnect) {
      // A tunnel hides method and path, so only a rule that restricts neither (or names CONNECT) may allow it.
      if (rule.paths || (rule.methods && !rule.methods.has('CONNECT'))) {
        missed(misses, rule, CONNECT);
        continue;
      }
      return rule;
    }
    if (rule.methods && !rule.methods.has(method)) {
      missed(misses, rule, METHOD);
      continue;
    }
    if (rule.paths && !anyPathMatches(rule.paths, path)) {
      missed(misses, rule, PATH);
      continue;
    }
    return rule;
  }
  return undefined;
}

function anyPathMatches(paths: NonNullable<CompiledRule['paths']>, path: string): boolean {
  for (const m of paths) if (m(path)) return true;
  return false;
}

function missed(misses: Misses, rule: CompiledRule, kind: MissKind): void {
  if (!misses.first) {
    misses.first = rule;
    misses.firstKind = kind;
  }
  if (!misses.withMode && rule.mode !== undefined) {
    misses.withMode = rule;
    misses.withModeKind = kind;
  }
}

function whyMissed(rule: CompiledRule, kind: MissKind, port: number | undefined, method: string, path: string): string {
  if (kind === PORT) return `allows port ${rule.port}, not ${port}`;
  if (kind === CONNECT) return 'restricts methods or paths, which a CONNECT tunnel cannot show';
  if (kind === METHOD) return `allows methods ${[...rule.methods!].join(', ')}, not ${method}`;
  return `allows paths ${rule.pathPatterns!.join(', ')}, not ${path}`;
}

/** An allow's reason depends on its rule only (a rule naming one identity only matches that identity): built once per rule. */
const allowReasons = new WeakMap<CompiledRule, string>();

function allowReason(rule: CompiledRule): string {
  let reason = allowReasons.get(rule);
  if (reason === undefined) {
    reason = `allowed by ${rule.id} (${rule.identity === '*' ? 'any identity' : rule.identity} → ${rule.host})`;
    allowReasons.set(rule, reason);
  }
  return reason;
}

function allow(policy: CompiledPolicy, identity: string, rule: CompiledRule, host: string, port: number | undefined): Decision {
  const destination = dest(host, port ?? (rule.port === '*' ? undefined : rule.port));
  return {
    allowed: true,
    verdict: 'allow',
    mode: rule.mode ?? policy.identityModes.get(identity) ?? policy.defaultMode,
    rule: rule.id,
    reason: allowReason(rule),
    destination,
    wildcard: rule.wildcard,
  };
}

function deny(policy: CompiledPolicy, identity: string, ruleMode: Mode | undefined, rule: string, reason: string, destination: string): Decision {
  const mode = rule === 'invalid-request' ? 'enforce' : (ruleMode ?? policy.identityModes.get(identity) ?? policy.defaultMode);
  if (mode === 'report') {
    return { allowed: true, verdict: 'report_deny', mode, rule, reason: `report mode: would deny: ${reason}`, destination, wildcard: false };
  }
  return { allowed: false, verdict: 'deny', mode, rule, reason, destination, wildcard: false };
}

/** Turns an allow into a denial because the host resolved into a blocked range (wildcard rules only). */
export function denyResolvedAddress(policy: CompiledPolicy, identity: string, decision: Decision, why: string): Decision {
  return deny(policy, identity, undefined, 'ssrf-guard', `${decision.destination} matched wildcard rule ${decision.rule} but ${why}`, decision.destination);
}

function dest(host: string, port: number | undefined): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port ?? 'default'}`;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
