import { isAlnum } from '../context.js';
import { plausibleToken, regexDetector } from './regex-detector.js';

export const googleApiKeyDetector = regexDetector({
  family: 'google_api_key',
  ids: ['google_api_key'],
  anchors: ['AIza'],
  pattern: /AIza[0-9A-Za-z_-]{35}/g,
  maxLength: 39,
  priority: 90,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3, bodyFrom: 4 }) ? { type: 'google_api_key' } : undefined),
});

/** Every OpenAI key embeds `T3BlbkFJ` (base64 "OpenAI") or carries a project/service/admin prefix. */
export const openaiApiKeyDetector = regexDetector({
  family: 'openai_api_key',
  ids: ['openai_api_key'],
  anchors: ['T3BlbkFJ', 'sk-proj-', 'sk-svcacct-', 'sk-admin-'],
  pattern: /sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})/g,
  maxLength: 320,
  priority: 90,
  backoff: 32,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3.5, bodyFrom: 3 }) ? { type: 'openai_api_key' } : undefined),
});

export const anthropicApiKeyDetector = regexDetector({
  family: 'anthropic_api_key',
  ids: ['anthropic_api_key'],
  anchors: ['sk-ant-'],
  pattern: /sk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_-]{80,200}/g,
  maxLength: 220,
  priority: 95,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3.5, bodyFrom: 13 }) ? { type: 'anthropic_api_key' } : undefined),
});

/** API key SIDs: SK + 32 hex (account SIDs start AC and are identifiers, not credentials). */
export const twilioApiKeyDetector = regexDetector({
  family: 'twilio_api_key',
  ids: ['twilio_api_key'],
  anchors: ['SK'],
  pattern: /SK[0-9a-fA-F]{32}/g,
  maxLength: 34,
  priority: 80,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3, bodyFrom: 2, inner: isAlnum }) ? { type: 'twilio_api_key' } : undefined),
});

export const sendgridApiKeyDetector = regexDetector({
  family: 'sendgrid_api_key',
  ids: ['sendgrid_api_key'],
  anchors: ['SG.'],
  pattern: /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g,
  maxLength: 69,
  priority: 90,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3.5, bodyFrom: 3 }) ? { type: 'sendgrid_api_key' } : undefined),
});

/** Granular/automation tokens (npm_ + 36) and the `_authToken=` line of an .npmrc. */
export const npmTokenDetector = regexDetector({
  family: 'npm_token',
  ids: ['npm_token'],
  anchors: ['npm_', '_authToken'],
  pattern: /npm_[A-Za-z0-9]{36}|_authToken\s{0,4}=\s{0,4}"?([A-Za-z0-9_.=-]{16,256})/g,
  maxLength: 280,
  priority: 90,
  accept: (m, text) => {
    if (m[1] !== undefined) {
      const start = m.index + m[0].length - m[1].length;
      const fake = { ...m, 0: m[1], index: start } as unknown as RegExpExecArray;
      return plausibleToken(fake, text, { minEntropy: 3 }) ? { type: 'npm_token', start, normalized: m[1] } : undefined;
    }
    return plausibleToken(m, text, { minEntropy: 3, bodyFrom: 4 }) ? { type: 'npm_token' } : undefined;
  },
});
