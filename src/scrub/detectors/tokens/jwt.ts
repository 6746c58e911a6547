import { plausibleToken, regexDetector } from './regex-detector.js';

/** The header must decode to a JSON object with an `alg`: that is what separates a JWT from any dotted base64. */
export function jwtHeaderValid(segment: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

function isJwtChar(c: number): boolean {
  return c === 46 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

export const jwtDetector = regexDetector({
  family: 'jwt',
  ids: ['jwt'],
  anchors: ['eyJ'],
  pattern: /eyJ[A-Za-z0-9_-]{8,1024}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,1024}/g,
  maxLength: 10_250,
  priority: 80,
  accept: (m, text) => {
    const end = m.index + m[0].length;
    // "…signature." at the end of a sentence: the dot is punctuation, not a fourth segment.
    const sentenceDot = text.charCodeAt(end) === 46 && !isJwtChar(text.charCodeAt(end + 1));
    if (!sentenceDot && !plausibleToken(m, text, { inner: isJwtChar })) return undefined;
    if (sentenceDot && (m.index > 0 && isJwtChar(text.charCodeAt(m.index - 1)))) return undefined;
    return jwtHeaderValid(m[0].slice(0, m[0].indexOf('.'))) ? { type: 'jwt' } : undefined;
  },
});
