import { charClasses, shannonEntropy } from '../../validators/entropy.js';
import { isPlaceholder } from '../../validators/placeholder.js';
import { hasContext, isAlnum } from '../context.js';
import { plausibleToken, regexDetector } from './regex-detector.js';

/** Access key ids: a documented 4-char resource prefix and 16 base32 characters. */
export const awsAccessKeyIdDetector = regexDetector({
  family: 'aws_access_key_id',
  ids: ['aws_access_key_id'],
  anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
  pattern: /(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}/g,
  maxLength: 20,
  priority: 90,
  accept: (m, text) => (plausibleToken(m, text, { inner: isAlnum }) ? { type: 'aws_access_key_id' } : undefined),
});

const SECRET_KEY_CONTEXT = /aws.?secret|secret.?access.?key|aws.{0,24}secret/i;
const SECRET_VALUE = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const REACH = 64;

function plausibleSecret(value: string): boolean {
  if (isPlaceholder(value) || /^[0-9a-f]{40}$/i.test(value)) return false; // 40 hex chars is a SHA-1
  const c = charClasses(value);
  const classes = (c.lower > 0 ? 1 : 0) + (c.upper > 0 ? 1 : 0) + (c.digit > 0 ? 1 : 0);
  return classes >= 2 && shannonEntropy(value) >= 4.2;
}

/**
 * Secret access keys are 40 base64 characters with no prefix, indistinguishable from other
 * random strings, so they are reported only after an AWS secret-key word or under such a key.
 */
export const awsSecretAccessKeyDetector = regexDetector({
  family: 'aws_secret_access_key',
  ids: ['aws_secret_access_key'],
  anchors: ['secret', 'Secret', 'SECRET'],
  pattern: SECRET_VALUE,
  maxLength: 40 + REACH,
  priority: 85,
  backoff: 0,
  keyGate: (key) => SECRET_KEY_CONTEXT.test(key),
  accept: (m, text, ctx) => {
    if (!plausibleSecret(m[0])) return undefined;
    return hasContext(text, m.index, ctx, SECRET_KEY_CONTEXT, REACH) ? { type: 'aws_secret_access_key' } : undefined;
  },
});
