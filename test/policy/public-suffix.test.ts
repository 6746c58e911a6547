import { describe, expect, it } from 'vitest';
import { loadPolicyText } from '../../src/policy/load.js';

const policyFor = (host: string) => `version: 1\negress:\n  - identity: "*"\n    allow:\n      - { host: "${host}" }\n`;

describe('wildcards over public suffixes', () => {
  it.each(['*.co.uk', '*.com.au', '*.github.io', '*.s3.amazonaws.com', '*.herokuapp.com'])('%s is refused: anyone can register a host under it', (host) => {
    const loaded = loadPolicyText(policyFor(host));
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('\n')).toMatch(/egress\[0\]\.allow\[0\]\.host: .*public suffix/);
  });

  it.each(['*.example.co.uk', '*.github.com', '*.amazonaws.com', '*.stripe.com', '*.internal.test'])('%s, a wildcard under a registered domain, is accepted', (host) => {
    expect(loadPolicyText(policyFor(host)).ok).toBe(true);
  });
});
