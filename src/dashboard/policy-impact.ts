import type { EdgeView } from '../inventory/index.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide } from '../policy/decide.js';
import type { Decision, Verdict } from '../policy/decision.js';

/** Edges decided between two turns of the event loop. */
export const YIELD_EVERY = 2000;

export interface EdgeDecision {
  verdict: Verdict;
  rule: string;
  mode: string;
}

export interface ImpactedEdge {
  identity: string;
  destination: string;
  method: string;
  path_template: string;
  requests: number;
  last_seen: string;
  before: EdgeDecision;
  after: EdgeDecision;
}

export interface PolicyImpact {
  edges_evaluated: number;
  /** Edges the proposal would block (`deny`) that the current policy lets through (allow or report-only). */
  start_denying: ImpactedEdge[];
  /** Edges the current policy blocks that the proposal would let through. */
  stop_denying: ImpactedEdge[];
  /** Edges whose report-only status changes (allow ↔ report_deny): nothing is blocked either way. */
  report_changes: ImpactedEdge[];
  /** True when a list was cut at `maxListed`; the counts stay exact. */
  truncated: boolean;
  counts: { start_denying: number; stop_denying: number; report_changes: number };
}

/** An observed edge as a request `decide` can take: the path template stands for the paths it collapsed. */
export function edgeDecision(policy: CompiledPolicy, e: Pick<EdgeView, 'identity' | 'destination' | 'method' | 'path_template'>): Decision {
  // Inventory keeps `host:default` for requests that named no port; decide() then uses the rule's port.
  const authority = e.destination.endsWith(':default') ? e.destination.slice(0, -':default'.length) : e.destination;
  return decide(policy, { identity: e.identity, authority, method: e.method, path: e.path_template });
}

/**
 * Which observed edges a proposed policy would start or stop denying. Pure `decide` on both sides: the
 * DNS guard for wildcard hosts is left out, as it depends on answers at request time, not on the policy.
 */
export async function policyImpact(current: CompiledPolicy, proposed: CompiledPolicy, edges: AsyncIterable<EdgeView>, maxListed = 1000): Promise<PolicyImpact> {
  const out: PolicyImpact = { edges_evaluated: 0, start_denying: [], stop_denying: [], report_changes: [], truncated: false, counts: { start_denying: 0, stop_denying: 0, report_changes: 0 } };
  const add = (list: 'start_denying' | 'stop_denying' | 'report_changes', item: ImpactedEdge) => {
    out.counts[list]++;
    if (out[list].length < maxListed) out[list].push(item);
    else out.truncated = true;
  };
  for await (const e of edges) {
    // The admin API shares the event loop with Checks: 200,000 edges must not hold it for a second.
    if (++out.edges_evaluated % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    const b = edgeDecision(current, e);
    const a = edgeDecision(proposed, e);
    if (b.verdict === a.verdict) continue;
    const item: ImpactedEdge = {
      identity: e.identity,
      destination: e.destination,
      method: e.method,
      path_template: e.path_template,
      requests: e.requests,
      last_seen: e.last_seen,
      before: { verdict: b.verdict, rule: b.rule, mode: b.mode },
      after: { verdict: a.verdict, rule: a.rule, mode: a.mode },
    };
    if (a.verdict === 'deny') add('start_denying', item);
    else if (b.verdict === 'deny') add('stop_denying', item);
    else add('report_changes', item);
  }
  const busiest = (x: ImpactedEdge, y: ImpactedEdge) => y.requests - x.requests;
  out.start_denying.sort(busiest);
  out.stop_denying.sort(busiest);
  out.report_changes.sort(busiest);
  return out;
}
