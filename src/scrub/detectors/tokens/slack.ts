import { plausibleToken, regexDetector } from './regex-detector.js';

/** Bot, user, app-level, refresh and config tokens; real ones always carry numeric team/user ids. */
export const slackTokenDetector = regexDetector({
  family: 'slack_token',
  ids: ['slack_token'],
  anchors: ['xox', 'xapp-'],
  pattern: /(?:xox[abposer]-(?:\d{6,16}-)?[0-9A-Za-z-]{10,250}|xox[ae]\.xox[bp]-\d-[A-Za-z0-9]{100,250}|xapp-\d-[A-Z0-9]{6,16}-\d{6,16}-[a-z0-9]{32,80})/g,
  maxLength: 260,
  priority: 90,
  accept: (m, text) => (/\d/.test(m[0]) && plausibleToken(m, text, { minEntropy: 3, bodyFrom: 5 }) ? { type: 'slack_token' } : undefined),
});

/** Incoming webhooks and workflow triggers: the URL itself is the credential. */
export const slackWebhookDetector = regexDetector({
  family: 'slack_webhook_url',
  ids: ['slack_webhook_url'],
  anchors: ['hooks.slack.com'],
  pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/_-]{20,200}/g,
  maxLength: 240,
  priority: 95,
  backoff: 8,
  accept: (m, text) => (plausibleToken(m, text, { inner: (c) => c === 47 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 43 }) ? { type: 'slack_webhook_url' } : undefined),
});
