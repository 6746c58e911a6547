import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { classifyPhone, DEFAULT_PHONE_REGIONS } from '../../src/scrub/detectors/phone.js';
import { createRegionFilter, patternLengths } from '../../src/scrub/detectors/phone-regions.js';

/** Fixed seed and run counts: the same cases on every run, within a bounded time. */
const RUNS = { seed: 20_261_204, numRuns: 600 };
/** The defaults plus regions with unusual prefixes (transform rules, 8 and 06 trunk prefixes, 0011 IDD). */
const REGIONS = [...DEFAULT_PHONE_REGIONS, 'AR', 'RU', 'JP', 'KZ', 'HU', 'NZ', 'SG'] as CountryCode[];
const mayBeIn = createRegionFilter(REGIONS);

const group = fc.stringMatching(/^[0-9]{1,5}$/);
const candidate = fc
  .tuple(fc.constantFrom('', '', '0', '1', '00', '011', '8', '06', '0011'), fc.array(group, { minLength: 1, maxLength: 5 }), fc.constantFrom(' ', '-', '.', ') ', ' - '))
  .map(([lead, groups, sep]) => (lead + groups.join(sep)).replace(/^\) /, ''));

describe('phone region filter', () => {
  it('decides every grouped number exactly as parsing it in every region does, with and without a phone word', () => {
    fc.assert(
      fc.property(candidate, fc.boolean(), (raw, hasCtx) => {
        const groups = raw.match(/\d+/g) ?? [];
        const seps = raw.split(/\d+/).slice(1, -1);
        expect(classifyPhone({ raw, groups, seps }, REGIONS, hasCtx, mayBeIn)).toBe(classifyPhone({ raw, groups, seps }, REGIONS, hasCtx));
      }),
      RUNS,
    );
  });

  it('still finds real numbers of each default region written nationally', () => {
    for (const [raw, region] of [
      ['(415) 555-2671', 'US'],
      ['020 7946 0958', 'GB'],
      ['030 12345678', 'DE'],
      ['01 42 68 53 00', 'FR'],
      ['02 9374 4000', 'AU'],
      ['044 668 18 00', 'CH'],
    ] as const) {
      const groups = raw.match(/\d+/g)!;
      const seps = raw.split(/\d+/).slice(1, -1);
      expect(classifyPhone({ raw, groups, seps }, [region], true, mayBeIn), raw).toBeDefined();
    }
  });

  it('reads the lengths a national prefix pattern can match, and refuses patterns with quantifiers', () => {
    expect(patternLengths('0|180020')).toEqual(new Set([1, 6]));
    expect(patternLengths('(183[12])|0')).toEqual(new Set([4, 1]));
    expect(patternLengths('0?(?:1)')).toBeUndefined();
    expect(patternLengths('0\\d')).toBeUndefined();
  });
});
