import type { PolicyDocument } from './schema.js';

/** Secrets published in examples/policy.yaml and the README: never a real deployment's. */
const EXAMPLE_SECRETS = new Set(['example-hmac-secret-change-me']);

/** Paths of the policy's inline secrets whose value is a published example (empty when none is). */
export function exampleSecretsIn(doc: PolicyDocument): string[] {
  const found: string[] = [];
  const check = (path: string, value: string | undefined) => {
    if (value !== undefined && EXAMPLE_SECRETS.has(value)) found.push(path);
  };
  check('signedHeader.hmac.secret', doc.signedHeader?.hmac?.secret.value);
  check('signedHeader.jwt.secret', doc.signedHeader?.jwt?.secret?.value);
  check('scrub.fingerprintKey', doc.scrub.fingerprintKey?.value);
  return found;
}
