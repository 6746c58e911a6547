import { charClasses, shannonEntropy } from '../../validators/entropy.js';
import { isPlaceholder } from '../../validators/placeholder.js';
import { regexDetector } from './regex-detector.js';

/** Minimum bits/char for an otherwise unrecognised credential; English words and ids sit well below. */
export const BEARER_MIN_ENTROPY = 3.0;
export const BEARER_MIN_LENGTH = 16;

/** An opaque credential worth reporting: long enough, random enough, not a template value. */
export function opaqueCredential(value: string): boolean {
  if (value.length < BEARER_MIN_LENGTH || isPlaceholder(value)) return false;
  const c = charClasses(value);
  if (c.digit === 0 && (c.lower === 0 || c.upper === 0)) return false;
  return shannonEntropy(value) >= BEARER_MIN_ENTROPY;
}

function isCredentialChar(c: number): boolean {
  return c === 61 || c === 46 || c === 47 || c === 43 || c === 126 || c === 95 || c === 45 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `Bearer <token>` in text; vendor formats inside it win by priority and report their own type. */
export const bearerDetector = regexDetector({
  family: 'bearer_token',
  ids: ['bearer_token'],
  anchors: ['Bearer', 'bearer', 'BEARER'],
  pattern: /[Bb](?:earer|EARER)\s{1,4}([A-Za-z0-9._~+/-]{16,4096}=*)/g,
  maxLength: 4200,
  priority: 20,
  accept: (m, text) => {
    let token = m[1]!;
    const start = m.index + m[0].length - token.length;
    const rawEnd = start + token.length;
    if (rawEnd < text.length && isCredentialChar(text.charCodeAt(rawEnd))) return undefined;
    if (m.index > 0 && isCredentialChar(text.charCodeAt(m.index - 1))) return undefined;
    // A sentence-ending dot is not part of the credential.
    while (token.endsWith('.')) token = token.slice(0, -1);
    return opaqueCredential(token) ? { type: 'bearer_token', start, end: start + token.length, normalized: token } : undefined;
  },
});
