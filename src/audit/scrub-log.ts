import type { Logger } from 'pino';

/** One ext_proc stream's outcome as it goes to the audit log: finding types, actions and fingerprints, never values. */
export interface ScrubRecord {
  time: string;
  decision_id?: string;
  request_id?: string;
  identity: string;
  destination: string;
  method: string;
  path: string;
  outcome: 'forwarded' | 'scrubbed' | 'blocked' | 'observed';
  findings: Array<{ type: string; action: string; where: string; fingerprint: string }>;
  counts: Record<string, number>;
  bytes_scanned: number;
  body_mode: string;
  note?: string;
  /** Phone-shaped values redacted by shape alone after the body spent its phone parse budget (`scrub.phoneParseBudget`); absent when 0. */
  phone_unvalidated?: number;
  /** W3C trace context of the request (`traceparent`), validated hex only. */
  trace_id?: string;
  span_id?: string;
}

export interface ScrubSink {
  record(r: ScrubRecord): void;
}

export function pinoScrubSink(log: Logger): ScrubSink {
  const audit = log.child({ audit: 'scrub' });
  // pino writes the line's own `time`; a second `time` key from the record would make the JSON ambiguous.
  return {
    record: (r) => {
      const { time: _time, ...line } = r;
      audit.info(line);
    },
  };
}
