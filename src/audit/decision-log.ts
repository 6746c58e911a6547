import type { Logger } from 'pino';

/** One authorization decision as it goes to the audit log: no header values, no query strings. */
export interface DecisionRecord {
  decision_id: string;
  time: string;
  request_id?: string;
  identity: string;
  identity_source?: string;
  destination: string;
  method: string;
  path: string;
  verdict: 'allow' | 'deny' | 'report_deny';
  mode: string;
  rule: string;
  reason: string;
  latency_us: number;
  policy_version: number;
  /** W3C trace context of the request (`traceparent`), validated hex only: joins the decision to its trace. */
  trace_id?: string;
  span_id?: string;
}

export interface DecisionSink {
  record(r: DecisionRecord): void;
}

/** Writes one structured pino line per decision (`"audit":"decision"`). */
export function pinoDecisionSink(log: Logger): DecisionSink {
  const audit = log.child({ audit: 'decision' });
  // pino writes the line's own `time`; a second `time` key from the record would make the JSON ambiguous.
  return {
    record: (r) => {
      const { time: _time, ...line } = r;
      audit.info(line);
    },
  };
}
