import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDetectors, DETECTOR_IDS } from '../../src/scrub/index.js';
import { buildDetectors } from '../../src/scrub/detectors/index.js';
import { DEFAULT_PHONE_REGIONS } from '../../src/scrub/detectors/phone.js';
import type { Detector } from '../../src/scrub/detectors/detector.js';
import { Prefilter } from '../../src/scrub/prefilter.js';

/** Fixed seed and run counts: the same cases on every run, within a bounded time. */
const RUNS = { seed: 20_261_203, numRuns: 400 };
const detectors = buildDetectors(new Set(DETECTOR_IDS), DEFAULT_PHONE_REGIONS);
const anchors = [...new Set(detectors.flatMap((d) => d.anchors))];

/** Values of every family, with and without their anchors' usual neighbours. */
const VALUES = [
  'alice@example.com',
  'bob.smith+tag@mail.example.org',
  '4111 1111 1111 1111',
  '5500005555555559',
  'SSN 536-22-8514',
  '+1 415 555 2671',
  'Phone: (415) 555-2671',
  'tel 020 7946 0958',
  'GB82 WEST 1234 5698 7654 32',
  'DE89370400440532013000',
  '192.168.10.25',
  '2001:db8:85a3::8a2e:370:7334',
  'fe80::1ff:fe23:4567:890a',
  'born 1985-03-12',
  'date of birth: 12 March 1985',
  'AKIAZ7QRSTUVWXYZ2345',
  'aws_secret_access_key = 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',
  'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
  'glpat-aB3dE5fG7hI9jK1lM3nO',
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  'https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFGHI/aB3dE5fG7hI9jK1lM3nO5pQ7',
  'AIzaSyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v',
  'sk-ant-api03-' + 'aB3dE5fG7h'.repeat(9) + 'xyzAA',
  'SK0123456789abcdef0123456789abcdef',
  'SG.aB3dE5fG7hI9jK1lM3nO5p.aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9d',
  'npm_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  'Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l',
  'postgres://admin:s3cr3tPassw0rd@db.internal:5432/app',
  'Bearer aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
];

/** Characters of the anchors and values, plus separators, escapes and non-ASCII. */
const alphabet = [...new Set([...anchors.join(''), ...VALUES.join(''), ...' \n\t"\\%{}[],=é日😀'])];
const noise = fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 30 });
const piece = fc.oneof(noise, fc.constantFrom(...anchors), fc.constantFrom(...VALUES), fc.constantFrom(' ', '"', ', ', '\n', '=', ': '));
const body = fc.array(piece, { maxLength: 16 }).map((p) => p.join(''));
const key = fc.option(fc.constantFrom('phone', 'dob', 'password', 'token', 'email', 'notes', 'aws_secret_access_key', 'authorization'), { nil: undefined });

describe('scrub prefilter', () => {
  const filtered = compileDetectors({ fingerprintKey: 'k' });
  const reference = compileDetectors({ fingerprintKey: 'k', prefilter: false });

  it('never misses a value that running every detector over the whole text finds', () => {
    fc.assert(
      fc.property(body, key, (text, k) => {
        const ctx = k === undefined ? {} : { key: k };
        expect(filtered.match(text, ctx)).toEqual(reference.match(text, ctx));
      }),
      RUNS,
    );
  });

  it('finds every known value in text, whatever surrounds it, exactly as the unfiltered scan does', () => {
    for (const v of VALUES) {
      for (const around of [['', ''], ['x ', ' y'], ['"', '"'], ['日本 ', ' 😀']]) {
        const text = around[0] + v + around[1];
        const found = filtered.match(text);
        expect(found, text).toEqual(reference.match(text));
        expect(found.length, text).toBeGreaterThan(0);
      }
    }
  });

  it('places every family at the first position where one of its anchors occurs, overlapping anchors included', () => {
    const pf = new Prefilter(detectors);
    const dense = fc.array(fc.oneof(fc.constantFrom(...anchors), fc.constantFrom(...anchors).map((a) => a.slice(0, -1)), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 3 })), { maxLength: 24 }).map((p) => p.join(''));
    fc.assert(
      fc.property(dense, (text) => {
        const first = pf.firstPositions(text);
        detectors.forEach((d, i) => {
          let want = -1;
          for (const a of d.anchors) {
            const at = text.indexOf(a);
            if (at !== -1 && (want === -1 || at < want)) want = at;
          }
          expect(first[i], `${d.family} in ${JSON.stringify(text)}`).toBe(want);
        });
      }),
      RUNS,
    );
  });

  it('finds anchors that end inside or overlap other anchors (one family per anchor set)', () => {
    const sets = [['she', 'he', 'hers'], ['e'], ['abcd', 'bc'], ['aab', 'ab', 'b'], ['xyz']];
    const pf = new Prefilter(sets.map((a) => ({ anchors: a }) as unknown as Detector));
    const text = fc.string({ unit: fc.constantFrom(...'abcdehrsxyz'), maxLength: 40 });
    fc.assert(
      fc.property(text, (t) => {
        const first = pf.firstPositions(t);
        sets.forEach((a, i) => {
          const at = a.map((x) => t.indexOf(x)).filter((p) => p !== -1);
          expect(first[i], `${a.join('|')} in ${t}`).toBe(at.length === 0 ? -1 : Math.min(...at));
        });
      }),
      RUNS,
    );
  });
});
