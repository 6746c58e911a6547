import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { pinoDecisionSink, type DecisionLogLevel, type DecisionRecord } from '../../src/audit/decision-log.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';

function decision(verdict: DecisionRecord['verdict'], id: string): DecisionRecord {
  return { decision_id: id, time: '2026-12-02T08:00:00.000Z', identity: 'billing', destination: 'api.vendor.example:443', method: 'GET', path: '/v1', verdict, mode: 'enforce', rule: 'egress[0].allow[0]', reason: 'r', latency_us: 12, policy_version: 3 };
}

/** The stdout lines a sink writes for one allow, one denial and one report-mode denial. */
function linesFor(which: DecisionLogLevel): Array<Record<string, unknown>> {
  const out: string[] = [];
  const dest = new Writable({ write: (chunk: Buffer, _enc, done) => (out.push(...chunk.toString().split('\n').filter(Boolean)), done()) });
  const sink = pinoDecisionSink(pino({}, dest), which);
  sink.record(decision('allow', 'd-allow'));
  sink.record(decision('deny', 'd-deny'));
  sink.record(decision('report_deny', 'd-report'));
  return out.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the decision log line (--decision-log / TOLLGATE_DECISION_LOG)', () => {
  it('all (the default) logs every decision; deny only denials, report-mode ones included; off none', () => {
    expect(loadConfig({}, {}).decisionLog).toBe('all');
    expect(linesFor('all').map((l) => l.decision_id)).toEqual(['d-allow', 'd-deny', 'd-report']);
    expect(linesFor('deny').map((l) => l.decision_id)).toEqual(['d-deny', 'd-report']);
    expect(linesFor('off')).toEqual([]);
    expect(linesFor('deny')[0]).toMatchObject({ audit: 'decision', verdict: 'deny', destination: 'api.vendor.example:443' });
  });

  it('is read from the flag or the environment, and a wrong value is refused naming the choices', () => {
    expect(loadConfig({}, { TOLLGATE_DECISION_LOG: 'deny' }).decisionLog).toBe('deny');
    expect(loadConfig({ decisionLog: 'off' }, { TOLLGATE_DECISION_LOG: 'deny' }).decisionLog).toBe('off');
    let err: unknown;
    try {
      loadConfig({}, { TOLLGATE_DECISION_LOG: 'denied' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(/decisionLog.*all.*deny.*off/s);
  });
});
