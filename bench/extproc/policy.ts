import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ext_proc benchmarks' policy: the example policy plus a scrub section (explicit actions for what the bodies carry). */
export function benchPolicyYaml(root: string): string {
  return `${readFileSync(join(root, 'examples/policy.yaml'), 'utf8')}
scrub:
  defaults:
    email: redact
    phone: redact
    credit_card: mask
    private_key: block
  bufferLimitBytes: 1048576
  fingerprintKey: { value: "bench-fingerprint-key-not-a-secret" }
`;
}
