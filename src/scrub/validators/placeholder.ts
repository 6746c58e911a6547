/**
 * Documentation and template values that look like secrets but are published examples.
 * Checksummed PII (cards, IBANs) is deliberately NOT allowlisted: well-known test cards such as
 * 4111111111111111 are still PAN-formatted data, and a scrubber that lets them through cannot be demoed.
 */
const KNOWN_EXAMPLES = new Set<string>([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
  'xoxb-not-a-real-token-this-will-not-work',
  '123-45-6789',
  '078-05-1120',
  '219-09-9999',
]);

const PLACEHOLDER_WORDS = /example|sample|placeholder|dummy|changeme|your[_-]?(?:api|token|key|secret)|redacted|x{6,}|\*{4,}|\.\.\.|<[a-z_ -]+>|\$\{|\{\{/i;

/** True when `value` is a published example or an obvious template placeholder. */
export function isPlaceholder(value: string): boolean {
  if (KNOWN_EXAMPLES.has(value)) return true;
  if (PLACEHOLDER_WORDS.test(value)) return true;
  return hasLongRepeat(value);
}

/** Eight or more of the same character in a row (`0000000000`, `aaaaaaaa`) marks a filler, not a key. */
function hasLongRepeat(value: string): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    if (value.charCodeAt(i) === value.charCodeAt(i - 1)) {
      if (++run >= 8) return true;
    } else run = 1;
  }
  return false;
}
