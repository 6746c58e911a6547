import { randomUUID } from 'node:crypto';
import type { DecisionSink } from '../audit/decision-log.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import { decide, denyResolvedAddress } from '../policy/decide.js';
import { storedMethod } from '../scrub/path.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { DecideInput, Decision } from '../policy/decision.js';
import type { CheckFacts } from './check-request.js';
import { pathForAudit } from './check-request.js';
import type { DnsGuard } from './dns-guard.js';
import { traceContext } from '../trace/traceparent.js';

export interface Authorization {
  decisionId: string;
  identity: string;
  identitySource: string | undefined;
  decision: Decision;
}

/**
 * `decide()` plus the DNS guard for wildcard matches: the decision a Check gets, and the one what-if answers
 * (`tollgate decide`, `POST /v1/decide`) give too, so they never say ALLOW where the Check would deny.
 */
export async function decideChecked(policy: CompiledPolicy, input: DecideInput, dns: DnsGuard): Promise<Decision> {
  const decision = decide(policy, input);
  if (!(decision.allowed && decision.wildcard && policy.ssrfProtection && policy.resolveWildcards)) return decision;
  const host = decision.destination.slice(0, decision.destination.lastIndexOf(':'));
  const verdict = await dns.check(host);
  if (verdict.ok) return decision;
  return denyResolvedAddress(policy, input.identity, decision, verdict.address ? `resolves to ${verdict.address}, a ${verdict.label} address` : `cannot be checked: ${verdict.label}`);
}

/** Resolves the caller, decides, applies the DNS guard to wildcard matches, and records the decision. */
export async function authorize(
  version: PolicyVersion,
  facts: CheckFacts,
  dns: DnsGuard,
  sink: DecisionSink,
  startedNs: bigint,
): Promise<Authorization> {
  const signedHeaderName = version.identities.signedHeaderName;
  const who = await version.identities.resolve({
    principal: facts.principal,
    xfcc: facts.headers['x-forwarded-client-cert'],
    signedHeader: signedHeaderName ? facts.headers[signedHeaderName] : undefined,
    sourceAddress: facts.sourceAddress,
  });
  const decision = await decideChecked(version.policy, { identity: who.name, authority: facts.authority, method: facts.method, path: facts.path }, dns);
  const decisionId = randomUUID();
  sink.record({
    decision_id: decisionId,
    time: new Date().toISOString(),
    request_id: facts.requestId,
    identity: who.name,
    identity_source: who.source,
    destination: decision.destination,
    method: storedMethod(facts.method),
    path: pathForAudit(facts.path),
    verdict: decision.verdict,
    mode: decision.mode,
    rule: decision.rule,
    reason: decision.reason,
    latency_us: Number((process.hrtime.bigint() - startedNs) / 1000n),
    policy_version: version.version,
    ...traceContext(facts.headers.traceparent),
  });
  return { decisionId, identity: who.name, identitySource: who.source, decision };
}
