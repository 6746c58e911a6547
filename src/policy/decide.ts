import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { DecideInput, Decision } from './decision.js';
import { parseAuthority } from './host.js';
import { blockedName, blockedRangeOf, parseIpLiteral } from './ip.js';
import { normalizeRequestPath } from './paths.js';
import type { Mode } from './schema.js';
import { redactPath, redactText } from '../scrub/path.js';

type Miss = { rule: CompiledRule; why: string };

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
  const misses: Miss[] = [];

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
  if (misses.length > 0) {
    const near = misses.find((m) => m.rule.mode !== undefined) ?? misses[0]!;
    // Reasons are stored in the decision log: the path and method are the request's own, so no value may survive in them.
    return deny(policy, identity, near.rule.mode, 'default-deny', redactText(`no rule allows ${identity} → ${method} ${destination}${redactPath(path)}; nearest rule ${near.rule.id} ${near.why}`), destination);
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
  misses: Miss[],
): CompiledRule | undefined {
  for (const rule of rules) {
    if (rule.identity !== identity && rule.identity !== '*') continue;
    if (port !== undefined && rule.port !== '*' && rule.port !== port) {
      misses.push({ rule, why: `allows port ${rule.port}, not ${port}` });
      continue;
    }
    if (isConnect) {
      // A tunnel hides method and path, so only a rule that restricts neither (or names CONNECT) may allow it.
      if (rule.paths || (rule.methods && !rule.methods.has('CONNECT'))) {
        misses.push({ rule, why: 'restricts methods or paths, which a CONNECT tunnel cannot show' });
        continue;
      }
      return rule;
    }
    if (rule.methods && !rule.methods.has(method)) {
      misses.push({ rule, why: `allows methods ${[...rule.methods].join(', ')}, not ${method}` });
      continue;
    }
    if (rule.paths && !rule.paths.some((m) => m(path))) {
      misses.push({ rule, why: `allows paths ${rule.pathPatterns!.join(', ')}, not ${path}` });
      continue;
    }
    return rule;
  }
  return undefined;
}

function allow(policy: CompiledPolicy, identity: string, rule: CompiledRule, host: string, port: number | undefined): Decision {
  const destination = dest(host, port ?? (rule.port === '*' ? undefined : rule.port));
  return {
    allowed: true,
    verdict: 'allow',
    mode: rule.mode ?? policy.identityModes.get(identity) ?? policy.defaultMode,
    rule: rule.id,
    reason: `allowed by ${rule.id} (${rule.identity === '*' ? 'any identity' : identity} → ${rule.host})`,
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
