import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/config/limits.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { policySchema } from '../../src/policy/schema.js';

describe('the rule-count limit', () => {
  it('a policy with more allow rules than the limit is refused naming the limit, without building a compiled policy', () => {
    const allow = Array.from({ length: LIMITS.policyRules + 1 }, (_, i) => ({ host: `h${i}.example.com` }));
    const doc = policySchema.parse({ version: 1, egress: [{ identity: '*', allow }] });
    const { policy, problems } = compilePolicy(doc);
    expect(policy).toBeUndefined();
    expect(problems).toContainEqual({ path: 'egress', message: `the policy has ${LIMITS.policyRules + 1} allow rules; the limit is ${LIMITS.policyRules}` });
  });
});
