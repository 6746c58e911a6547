import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/events/types.js';
import { DeniedRule, NewDestinationRule, PiiToNewDestinationRule, TokenMisuseRule, VolumeSpikeRule, type RuleEvaluator } from '../../src/alerts/rules/index.js';
import type { AlertDraft } from '../../src/alerts/types.js';
import { access, decision, HOUR, MIN, scrub } from './support/events.js';

function run(rule: RuleEvaluator, events: EgressEvent[]): AlertDraft[] {
  const out: AlertDraft[] = [];
  for (const e of events) rule.observe(e, Date.parse(e.time), (d) => out.push(d));
  return out;
}

describe('new_destination', () => {
  it('stays quiet during the learning period, then alerts once for a pair never seen', () => {
    const rule = new NewDestinationRule({ learningPeriod: HOUR });
    const learning = run(rule, [decision({ t: 0 }), decision({ t: 10 * MIN, destination: 'api.github.com:443' })]);
    expect(learning).toEqual([]);
    const after = run(rule, [
      decision({ t: 2 * HOUR }),
      decision({ t: 2 * HOUR, destination: 'api.github.com:443' }),
      decision({ t: 2 * HOUR, destination: 'pastebin.com:443' }),
      decision({ t: 3 * HOUR, destination: 'pastebin.com:443' }),
    ]);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ key: 'billing|pastebin.com:443', details: { identity: 'billing', destination: 'pastebin.com:443' } });
  });

  it('treats each identity separately and ignores hard denials (the request never reached it)', () => {
    const rule = new NewDestinationRule({ learningPeriod: MIN });
    run(rule, [decision({ t: 0 })]);
    expect(run(rule, [decision({ t: 2 * MIN, destination: 'evil.example:443', verdict: 'deny' })])).toEqual([]);
    expect(run(rule, [decision({ t: 2 * MIN, identity: 'search' })])).toHaveLength(1);
    expect(run(rule, [access({ t: 3 * MIN, destination: 'evil.example:443' })])).toHaveLength(1);
  });
});

describe('pii_to_new_destination', () => {
  it('alerts when PII goes to a destination that never received PII from this identity, after learning', () => {
    const rule = new PiiToNewDestinationRule({ learningPeriod: HOUR });
    expect(run(rule, [scrub({ t: 0, findings: [{ type: 'email', where: 'json:$.customer.email' }] })])).toEqual([]);
    const out = run(rule, [
      scrub({ t: 2 * HOUR, findings: [{ type: 'email' }] }),
      scrub({ t: 2 * HOUR, destination: 'api.mailgun.net:443', findings: [{ type: 'email' }, { type: 'email', fingerprint: 'fp-2' }, { type: 'phone' }] }),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]!.details).toMatchObject({ destination: 'api.mailgun.net:443', finding_types: ['email', 'phone'], finding_counts: { email: 2, phone: 1 } });
  });

  it('ignores credential findings and traffic without findings', () => {
    const rule = new PiiToNewDestinationRule({ learningPeriod: MIN });
    run(rule, [decision({ t: 0 })]);
    expect(run(rule, [scrub({ t: 2 * MIN, destination: 'x.example:443', findings: [{ type: 'github_token' }] }), scrub({ t: 2 * MIN, findings: [] })])).toEqual([]);
  });
});

describe('token_misuse', () => {
  const rule = () => new TokenMisuseRule({ flags: ['shared', 'foreign_destination', 'outside_header'] });

  it('flags a GitHub token sent to pastebin.com as critical, and not to api.github.com or raw.githubusercontent.com', () => {
    const r = rule();
    const ok = run(r, [
      scrub({ destination: 'api.github.com:443', findings: [{ type: 'github_token', fingerprint: 'gh1' }] }),
      scrub({ destination: 'raw.githubusercontent.com:443', findings: [{ type: 'github_token', fingerprint: 'gh1' }] }),
    ]);
    expect(ok).toEqual([]);
    const bad = run(r, [scrub({ destination: 'pastebin.com:443', findings: [{ type: 'github_token', fingerprint: 'gh1' }] })]);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ severity: 'critical', key: 'foreign_destination|gh1|pastebin.com', details: { flag: 'foreign_destination', token_type: 'github_token', fingerprint: 'gh1' } });
  });

  it('flags a token used by a second identity', () => {
    const r = rule();
    expect(run(r, [scrub({ identity: 'billing', destination: 'api.openai.com:443', findings: [{ type: 'openai_api_key', fingerprint: 'oa' }] })])).toEqual([]);
    const out = run(r, [scrub({ identity: 'search', destination: 'api.openai.com:443', findings: [{ type: 'openai_api_key', fingerprint: 'oa' }] })]);
    expect(out).toHaveLength(1);
    expect(out[0]!.details).toMatchObject({ flag: 'shared', identities: ['billing', 'search'] });
  });

  it('flags a token in a query string or body, naming only the kind of place', () => {
    const out = run(rule(), [scrub({ destination: 'api.stripe.com:443', findings: [{ type: 'stripe_secret_key', where: 'query:api_key', fingerprint: 'sk' }] })]);
    expect(out).toHaveLength(1);
    expect(out[0]!.details).toMatchObject({ flag: 'outside_header', where: 'query string' });
    expect(JSON.stringify(out)).not.toContain('api_key');
  });

  it('leaves tokens without an issuer (bearer, JWT) and PII alone for the destination check', () => {
    expect(run(rule(), [scrub({ destination: 'pastebin.com:443', findings: [{ type: 'bearer_token' }, { type: 'jwt' }, { type: 'email' }] })])).toEqual([]);
  });

  it('accepts extra issuer domains from the policy', () => {
    const r = new TokenMisuseRule({ flags: ['foreign_destination'], issuerDomains: { github_token: ['github.example.com'] } });
    expect(run(r, [scrub({ destination: 'github.example.com:443', findings: [{ type: 'github_token' }] })])).toEqual([]);
  });
});

describe('denied', () => {
  it('alerts when an identity is denied more than the threshold within the window, and not when denials are spread out', () => {
    const spread = new DeniedRule({ threshold: 3, window: MIN, includeReport: true });
    expect(run(spread, [0, 1, 2, 3, 4, 5].map((i) => decision({ t: i * 30_000, verdict: 'deny' })))).toEqual([]);

    const burst = new DeniedRule({ threshold: 3, window: MIN, includeReport: true });
    const out = run(burst, [0, 1, 2, 3].map((i) => decision({ t: i * 1000, verdict: i % 2 ? 'report_deny' : 'deny', destination: `h${i % 2}.example:443` })));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ key: 'billing', details: { identity: 'billing', threshold: 3, destinations: { 'h0.example:443': 2, 'h1.example:443': 2 } } });
  });

  it('ignores allowed requests, and report-mode denials when told to', () => {
    const rule = new DeniedRule({ threshold: 1, window: MIN, includeReport: false });
    expect(run(rule, [decision({ t: 0 }), decision({ t: 1 }), decision({ t: 2, verdict: 'report_deny' }), decision({ t: 3, verdict: 'report_deny' })])).toEqual([]);
  });
});

describe('volume_spike', () => {
  const params = { metric: 'bytes' as const, factor: 3, minBaseline: 100, minSamples: 4, halfLife: 10 * MIN, window: MIN };

  it('alerts once when a window exceeds factor × baseline, after enough windows of baseline', () => {
    const rule = new VolumeSpikeRule(params);
    const steady = [0, 1, 2, 3, 4].flatMap((w) => [access({ t: w * MIN, bytes: 500 }), access({ t: w * MIN + 10_000, bytes: 500 })]);
    expect(run(rule, steady)).toEqual([]);
    const spike = run(rule, [5, 6, 7, 8].map((i) => access({ t: 5 * MIN + i * 1000, bytes: 1000 })));
    expect(spike).toHaveLength(1);
    expect(spike[0]!.details).toMatchObject({ metric: 'bytes', current: 4000, baseline: 1000, factor: 3 });
  });

  it('does not alert before the minimum number of windows, however large the traffic', () => {
    const rule = new VolumeSpikeRule(params);
    expect(run(rule, [access({ t: 0, bytes: 10 }), access({ t: MIN, bytes: 10 }), access({ t: 2 * MIN, bytes: 1_000_000 })])).toEqual([]);
  });

  it('uses minBaseline as a floor under a tiny baseline', () => {
    const rule = new VolumeSpikeRule(params);
    run(rule, [0, 1, 2, 3, 4].map((w) => access({ t: w * MIN, bytes: 1 })));
    expect(run(rule, [access({ t: 5 * MIN, bytes: 250 })])).toEqual([]);
    expect(run(rule, [access({ t: 5 * MIN + 1, bytes: 100 })])).toHaveLength(1);
  });

  it('counts requests from decisions when the metric is requests', () => {
    const rule = new VolumeSpikeRule({ ...params, metric: 'requests', minBaseline: 1 });
    run(rule, [0, 1, 2, 3, 4].map((w) => decision({ t: w * MIN })));
    const out = run(rule, [1, 2, 3, 4].map((i) => decision({ t: 5 * MIN + i })));
    expect(out).toHaveLength(1);
    expect(out[0]!.details).toMatchObject({ metric: 'requests', current: 4 });
  });
});
