import { plausibleToken, regexDetector } from './regex-detector.js';

/** Secret (sk_) and restricted (rk_) keys; test-mode keys are a separate type so policy can treat them apart. */
export const stripeDetector = regexDetector({
  family: 'stripe',
  ids: ['stripe_secret_key', 'stripe_test_key'],
  anchors: ['_live_', '_test_'],
  pattern: /[sr]k_(live|test)_[0-9A-Za-z]{20,247}/g,
  maxLength: 255,
  priority: 90,
  backoff: 2,
  accept: (m, text) => {
    if (!plausibleToken(m, text, { minEntropy: 3, bodyFrom: 8 })) return undefined;
    return { type: m[1] === 'live' ? 'stripe_secret_key' : 'stripe_test_key' };
  },
});
