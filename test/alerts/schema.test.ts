import { describe, expect, it } from 'vitest';
import { alertsSchema } from '../../src/alerts/schema.js';
import { compileAlertsPlan } from '../../src/alerts/plan.js';
import { problemsFromZod, type Problem } from '../../src/policy/problems.js';

function problems(input: unknown): Problem[] {
  const r = alertsSchema.safeParse(input);
  return r.success ? [] : problemsFromZod(r.error);
}

const sink = { name: 'ops', type: 'webhook', url: 'https://hooks.example.com/tollgate' };

describe('alerts section of the policy', () => {
  it('fills defaults and turns durations into milliseconds', () => {
    const cfg = alertsSchema.parse({ sinks: [sink], rules: [{ name: 'nd', type: 'new_destination', sinks: ['ops'] }, { name: 'vs', type: 'volume_spike', metric: 'bytes', sinks: ['ops'], halfLife: '30m' }] });
    expect(cfg.sinks[0]).toMatchObject({ timeoutMs: 5000, maxPerMinute: 60 });
    expect(cfg.rules[0]).toMatchObject({ dedupWindow: 600_000, learningPeriod: 86_400_000 });
    expect(cfg.rules[1]).toMatchObject({ factor: 5, halfLife: 1_800_000, window: 300_000, minSamples: 6 });
    expect(cfg.retry).toEqual({ attempts: 5, baseMs: 500, maxMs: 30_000 });
    expect(alertsSchema.parse({})).toEqual({ sinks: [], rules: [], retry: { attempts: 5, baseMs: 500, maxMs: 30_000 } });
  });

  it('reports every problem with its path, including a rule naming a sink that does not exist', () => {
    expect(
      problems({
        sinks: [{ ...sink, type: 'email', url: 'ftp://x', extra: 1 }],
        rules: [
          { name: 'a', type: 'new_destinations', sinks: ['ops'] },
          { name: 'b', type: 'denied', sinks: ['ops', 'pager'], window: '5 minutes' },
          { name: 'b', type: 'volume_spike', metric: 'bytes', sinks: ['ops'], factor: 1 },
        ],
        retry: { baseMs: 100, maxMs: 10 },
      }),
    ).toEqual([
      { path: 'sinks[0].type', message: 'sink type must be "webhook" or "slack"' },
      { path: 'sinks[0].url', message: 'url must be an http(s) URL' },
      { path: 'sinks[0]', message: 'unknown field "extra"' },
      { path: 'rules[0].type', message: 'rule type must be one of: new_destination, denied, pii_to_new_destination, token_misuse, volume_spike' },
      { path: 'rules[1].window', message: '"5 minutes" is not a duration; use a number and a unit: ms, s, m, h or d (e.g. "10m", "24h")' },
      { path: 'rules[2].factor', message: 'factor must be greater than 1' },
      { path: 'retry.maxMs', message: 'maxMs must be at least baseMs' },
      { path: 'rules[1].sinks[1]', message: 'unknown sink "pager"; sinks are: ops' },
      { path: 'rules[2].name', message: 'duplicate rule name "b"' },
    ]);
  });

  it('rejects parameters that belong to another rule type', () => {
    expect(problems({ sinks: [sink], rules: [{ name: 'a', type: 'denied', sinks: ['ops'], learningPeriod: '1h' }] })).toEqual([{ path: 'rules[0]', message: 'unknown field "learningPeriod"' }]);
  });

  it('requires exactly one of value or env for a signing secret, and reports an unset variable at compile time', () => {
    expect(problems({ sinks: [{ ...sink, secret: { value: 'x'.repeat(20), env: 'S' } }] })).toEqual([{ path: 'sinks[0].secret', message: 'give exactly one of value or env' }]);
    const out: Problem[] = [];
    compileAlertsPlan(alertsSchema.parse({ sinks: [{ ...sink, secret: { env: 'NOT_SET_ANYWHERE' } }] }), out, {});
    expect(out).toEqual([{ path: 'alerts.sinks[0].secret.env', message: 'environment variable NOT_SET_ANYWHERE is not set' }]);
  });
});
