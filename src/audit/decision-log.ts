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

/** Which decisions get a log line: every one, denials only (`deny` and `report_deny`), or none. */
export type DecisionLogLevel = 'all' | 'deny' | 'off';

/**
 * Writes one structured pino line per decision (`"audit":"decision"`), or per denial with `deny`. The line costs
 * about a tenth of a Check's CPU (docs/benchmarks.md), which `deny` saves on allowed traffic.
 */
export function pinoDecisionSink(log: Logger, which: DecisionLogLevel = 'all'): DecisionSink {
  if (which === 'off') return { record: () => undefined };
  const audit = log.child({ audit: 'decision' });
  const denialsOnly = which === 'deny';
  // pino writes the line's own `time`; a second `time` key from the record would make the JSON ambiguous.
  return {
    record: (r) => {
      if (denialsOnly && r.verdict === 'allow') return;
      const { time: _time, ...line } = r;
      audit.info(line);
    },
  };
}
