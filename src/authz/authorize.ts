import { randomUUID } from 'node:crypto';
import type { DecisionRecord, DecisionSink } from '../audit/decision-log.js';
import type { PolicyVersion } from '../engine/policy-version.js';
import type { CallerFacts, ResolvedIdentity } from '../identity/types.js';
import { decide, denyResolvedAddress } from '../policy/decide.js';
import { storedMethod } from '../scrub/path.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { DecideInput, Decision } from '../policy/decision.js';
import type { CheckFacts } from './check-request.js';
import { pathForAudit } from './check-request.js';
import type { DnsGuard } from './dns-guard.js';
import { traceContext } from '../trace/traceparent.js';
import { isoNow } from '../clock/iso-now.js';

export interface Authorization {
  decisionId: string;
  identity: string;
  identitySource: string | undefined;
  decision: Decision;
}

/** An allow by a wildcard rule must also pass the DNS guard (the name could resolve into a blocked range). */
function needsDnsCheck(policy: CompiledPolicy, decision: Decision): boolean {
  return decision.allowed && decision.wildcard && policy.ssrfProtection && policy.resolveWildcards;
}

async function dnsChecked(policy: CompiledPolicy, identity: string, decision: Decision, dns: DnsGuard): Promise<Decision> {
  const host = decision.destination.slice(0, decision.destination.lastIndexOf(':'));
  const verdict = await dns.check(host);
  if (verdict.ok) return decision;
  return denyResolvedAddress(policy, identity, decision, verdict.address ? `resolves to ${verdict.address}, a ${verdict.label} address` : `cannot be checked: ${verdict.label}`);
}

/**
 * `decide()` plus the DNS guard for wildcard matches: the decision a Check gets, and the one what-if answers
 * (`tollgate decide`, `POST /v1/decide`) give too, so they never say ALLOW where the Check would deny.
 */
export async function decideChecked(policy: CompiledPolicy, input: DecideInput, dns: DnsGuard): Promise<Decision> {
  const decision = decide(policy, input);
  return needsDnsCheck(policy, decision) ? dnsChecked(policy, input.identity, decision, dns) : decision;
}

/**
 * Resolves the caller, decides, applies the DNS guard to wildcard matches, and records the decision. Synchronous
 * unless a signed header has to be verified or a wildcard allow needs its DNS check: most Checks allocate no promise.
 */
export function authorize(version: PolicyVersion, facts: CheckFacts, dns: DnsGuard, sink: DecisionSink, startedMs: number): Authorization | Promise<Authorization> {
  const signedHeaderName = version.identities.signedHeaderName;
  const caller: CallerFacts = {
    principal: facts.principal,
    xfcc: facts.headers['x-forwarded-client-cert'],
    signedHeader: signedHeaderName ? facts.headers[signedHeaderName] : undefined,
    sourceAddress: facts.sourceAddress,
  };
  const who = version.identities.resolveNow(caller);
  if (who === undefined) return version.identities.resolve(caller).then((w) => decideFor(version, facts, w, dns, sink, startedMs));
  return decideFor(version, facts, who, dns, sink, startedMs);
}

function decideFor(version: PolicyVersion, facts: CheckFacts, who: ResolvedIdentity, dns: DnsGuard, sink: DecisionSink, startedMs: number): Authorization | Promise<Authorization> {
  const decision = decide(version.policy, { identity: who.name, authority: facts.authority, method: facts.method, path: facts.path });
  if (needsDnsCheck(version.policy, decision)) return dnsChecked(version.policy, who.name, decision, dns).then((d) => recorded(version, facts, who, d, sink, startedMs));
  return recorded(version, facts, who, decision, sink, startedMs);
}

function recorded(version: PolicyVersion, facts: CheckFacts, who: ResolvedIdentity, decision: Decision, sink: DecisionSink, startedMs: number): Authorization {
  const decisionId = randomUUID();
  const record: DecisionRecord = {
    decision_id: decisionId,
    time: isoNow(),
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
    latency_us: Math.trunc((performance.now() - startedMs) * 1000),
    policy_version: version.version,
  };
  const trace = facts.headers.traceparent === undefined ? undefined : traceContext(facts.headers.traceparent);
  if (trace) {
    record.trace_id = trace.trace_id;
    record.span_id = trace.span_id;
  }
  sink.record(record);
  return { decisionId, identity: who.name, identitySource: who.source, decision };
}
