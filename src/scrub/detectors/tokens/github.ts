import { plausibleToken, regexDetector } from './regex-detector.js';

/** Classic (ghp_ gho_ ghu_ ghs_ ghr_ + 36) and fine-grained (github_pat_) tokens. */
export const githubTokenDetector = regexDetector({
  family: 'github_token',
  ids: ['github_token'],
  anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  pattern: /(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})/g,
  maxLength: 255,
  priority: 90,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3, bodyFrom: 4 }) ? { type: 'github_token' } : undefined),
});
