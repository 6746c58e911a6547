import type { DecisionRecord, DecisionSink } from '../audit/decision-log.js';
import { pathTemplate } from '../events/path-template.js';

export interface JoinedRequest {
  identity: string;
  decision_id?: string;
  destination: string;
  method: string;
  path_template: string;
}

/**
 * Remembers recent decisions by x-request-id so an access log entry (which arrives after the response)
 * joins the identity and decision of its request. Bounded: the oldest entries go first.
 */
export class RequestJoin implements DecisionSink {
  private readonly byId = new Map<string, JoinedRequest>();

  constructor(private readonly limit = 100_000) {}

  /** Called synchronously with each decision, so a fast access log can never overtake it. */
  record(r: DecisionRecord): void {
    if (!r.request_id) return;
    if (this.byId.size >= this.limit) this.byId.delete(this.byId.keys().next().value as string);
    this.byId.set(r.request_id, { identity: r.identity, decision_id: r.decision_id, destination: r.destination, method: r.method, path_template: pathTemplate(r.path) });
  }

  take(requestId: string | undefined): JoinedRequest | undefined {
    if (!requestId) return undefined;
    const hit = this.byId.get(requestId);
    if (hit) this.byId.delete(requestId);
    return hit;
  }
}
