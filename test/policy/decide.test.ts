import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.js';
import { loadPolicyText } from '../../src/policy/load.js';

function compile(text: string) {
  const r = loadPolicyText(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

describe('decide()', () => {
  it('is pure: the same input gives the same decision', () => {
    const policy = compile('version: 1\negress:\n  - identity: "*"\n    allow: [{ id: x, host: x.example.com }]\n');
    const input = { identity: 'unknown', authority: 'x.example.com', method: 'GET', path: '/' };
    expect(decide(policy, input)).toEqual(decide(policy, input));
  });

  it('finds the right rule among 10,000 exact and wildcard rules', () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? `      - { id: r${i}, host: "*.svc${i}.example.com" }` : `      - { id: r${i}, host: api${i}.example.com, methods: [GET] }`));
    const policy = compile(`version: 1\negress:\n  - identity: "*"\n    allow:\n${rules.join('\n')}\n`);
    expect(decide(policy, { identity: 'unknown', authority: 'api9998.example.com', method: 'GET', path: '/' }).rule).toBe('r9998');
    expect(decide(policy, { identity: 'unknown', authority: 'a.b.svc9999.example.com', method: 'GET', path: '/' }).rule).toBe('r9999');
    expect(decide(policy, { identity: 'unknown', authority: 'svc9999.example.com', method: 'GET', path: '/' }).rule).toBe('default-deny');
  });

  it('an exact rule wins over a wildcard rule for the same host', () => {
    const policy = compile('version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: wild, host: "*.example.com" }\n      - { id: exact, host: api.example.com }\n');
    expect(decide(policy, { identity: 'unknown', authority: 'api.example.com', method: 'GET', path: '/' }).rule).toBe('exact');
  });

  it('identity-level report mode turns its denials into report_deny, others still enforce', () => {
    const policy = compile(`version: 1
identities:
  - { name: rollout, mode: report, match: { sourceCidr: "10.0.0.0/8" } }
  - { name: strict, match: { sourceCidr: "192.168.0.0/16" } }
`);
    expect(decide(policy, { identity: 'rollout', authority: 'x.example.com', method: 'GET', path: '/' })).toMatchObject({ allowed: true, verdict: 'report_deny', mode: 'report' });
    expect(decide(policy, { identity: 'strict', authority: 'x.example.com', method: 'GET', path: '/' })).toMatchObject({ allowed: false, verdict: 'deny', mode: 'enforce' });
  });

  it('policy-level report mode reports everything', () => {
    const policy = compile('version: 1\ndefaults: { mode: report }\n');
    expect(decide(policy, { identity: 'unknown', authority: 'x.example.com', method: 'GET', path: '/' }).verdict).toBe('report_deny');
  });

  it('SSRF protection can be turned off, then private addresses fall to default deny', () => {
    const policy = compile('version: 1\ndefaults: { ssrfProtection: false }\negress:\n  - identity: "*"\n    allow: [{ host: "*.corp.example" }]\n');
    expect(decide(policy, { identity: 'unknown', authority: '10.0.0.1', method: 'GET', path: '/' }).rule).toBe('default-deny');
  });

  it('an unparsable authority is denied as an invalid request even in report mode', () => {
    const policy = compile('version: 1\ndefaults: { mode: report }\n');
    expect(decide(policy, { identity: 'unknown', authority: 'exa mple.com:99999', method: 'GET', path: '/' })).toMatchObject({ allowed: false, rule: 'invalid-request' });
  });
});
