import { describe, expect, it } from 'vitest';
import { compileDetectors, DEFAULT_ACTIONS, DETECTOR_IDS, maskValue, resolveActions, scrubActionsSchema, scrubText } from '../../src/scrub/index.js';

describe('actions', () => {
  it('redacts with the detector id in the placeholder', () => {
    const set = compileDetectors({ actions: { email: 'redact' } });
    expect(scrubText(set, 'to bob@example.com').output).toBe('to [REDACTED:email]');
  });

  it('masks a card to its last four digits and an email to its domain', () => {
    expect(maskValue('credit_card', '4111 1111 1111 1234')).toBe('**** **** **** 1234');
    expect(maskValue('email', 'bob@example.com')).toBe('***@example.com');
    expect(maskValue('iban', 'DE89370400440532013000')).toBe('******************3000');
  });

  it('hashes to a keyed token that is stable per key and differs across keys', () => {
    const a = compileDetectors({ fingerprintKey: 'k1', actions: { email: 'hash' } });
    const b = compileDetectors({ fingerprintKey: 'k2', actions: { email: 'hash' } });
    const outA = scrubText(a, 'bob@example.com').output;
    expect(outA).toMatch(/^\[HASH:email:[0-9a-f]{16}\]$/);
    expect(scrubText(a, 'BOB@example.com').output).toBe(outA);
    expect(scrubText(b, 'bob@example.com').output).not.toBe(outA);
  });

  it('hashes card numbers the same however they are grouped, so joins still work', () => {
    const set = compileDetectors({ fingerprintKey: 'k', actions: { credit_card: 'hash' } });
    expect(scrubText(set, '4111 1111 1111 1111').output).toBe(scrubText(set, '4111-1111-1111-1111').output);
  });

  it('marks the result blocked when a finding has the block action', () => {
    const set = compileDetectors({ actions: { us_ssn: 'block' } });
    const r = scrubText(set, 'ssn 536-22-8514');
    expect(r.blocked).toBe(true);
    expect(r.findings.map((f) => f.type)).toEqual(['us_ssn']);
  });

  it('records but does not touch values whose action is allow', () => {
    const set = compileDetectors({ actions: { email: 'allow' } });
    const r = scrubText(set, 'bob@example.com');
    expect(r.output).toBe('bob@example.com');
    expect(r.changed).toBe(false);
    expect(r.findings).toHaveLength(1);
  });

  it('never puts the raw value in a finding', () => {
    const set = compileDetectors({ fingerprintKey: 'k' });
    const r = scrubText(set, 'token ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5 mail bob@example.com');
    expect(JSON.stringify(r.findings)).not.toMatch(/ghp_|bob@/);
  });

  it('overrides per call with a resolved action map', () => {
    const set = compileDetectors();
    const strict = resolveActions({ email: 'block' });
    expect(set.scanText('bob@example.com', { actions: strict })[0]!.action).toBe('block');
  });
});

describe('scrub action schema', () => {
  it('accepts a partial map of detector ids to actions', () => {
    expect(scrubActionsSchema.parse({ email: 'hash', private_key: 'block' })).toEqual({ email: 'hash', private_key: 'block' });
  });

  it('rejects unknown detector ids, naming them', () => {
    const r = scrubActionsSchema.safeParse({ emails: 'redact' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toContain('unknown detector id(s): emails');
  });

  it('rejects unknown actions', () => {
    expect(scrubActionsSchema.safeParse({ email: 'drop' }).success).toBe(false);
  });

  it('has a default action for every detector id', () => {
    for (const id of DETECTOR_IDS) expect(DEFAULT_ACTIONS[id]).toBeDefined();
  });
});
