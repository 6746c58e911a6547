import type { DecisionRecord, DecisionSink } from '../audit/decision-log.js';
import type { ScrubRecord, ScrubSink } from '../audit/scrub-log.js';
import type { EventBus } from './bus.js';
import { pathTemplate } from './path-template.js';
import type { DecisionEvent, EventBase, ScrubEvent } from './types.js';

/** The fields every event shares, from either audit record (the raw path becomes a template). */
function base(r: DecisionRecord | ScrubRecord): EventBase {
  return {
    time: r.time,
    request_id: r.request_id,
    decision_id: r.decision_id,
    identity: r.identity,
    destination: r.destination,
    method: r.method,
    path_template: pathTemplate(r.path),
    ...(r.trace_id ? { trace_id: r.trace_id, span_id: r.span_id } : {}),
  };
}

/** Written out rather than spread from `base`: one object per Check instead of three, and no spread copies. */
export function decisionEvent(r: DecisionRecord): DecisionEvent {
  const e: DecisionEvent = {
    kind: 'decision',
    time: r.time,
    request_id: r.request_id,
    decision_id: r.decision_id,
    identity: r.identity,
    destination: r.destination,
    method: r.method,
    path_template: pathTemplate(r.path),
    verdict: r.verdict,
    mode: r.mode,
    rule: r.rule,
    reason: r.reason,
    latency_us: r.latency_us,
    policy_version: r.policy_version,
    identity_source: r.identity_source,
  };
  if (r.trace_id) {
    e.trace_id = r.trace_id;
    e.span_id = r.span_id;
  }
  return e;
}

export function scrubEvent(r: ScrubRecord): ScrubEvent {
  return {
    kind: 'scrub',
    ...base(r),
    outcome: r.outcome,
    findings: r.findings,
    bytes_scanned: r.bytes_scanned,
    body_mode: r.body_mode,
    ...(r.note ? { note: r.note } : {}),
  };
}

/** Decisions go to every sink given (the pino audit line) and onto the event bus. */
export function decisionSinks(bus: EventBus, ...sinks: DecisionSink[]): DecisionSink {
  return {
    record(r) {
      for (const s of sinks) s.record(r);
      bus.publish(decisionEvent(r));
    },
  };
}

export function scrubSinks(bus: EventBus, ...sinks: ScrubSink[]): ScrubSink {
  return {
    record(r) {
      for (const s of sinks) s.record(r);
      bus.publish(scrubEvent(r));
    },
  };
}
