import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody, scrubHeaders, scrubQuery, type DetectorId } from '../../src/scrub/index.js';
import { mulberry32 } from '../../bench/lib/rng.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

/** Seeded, so a failure names a reproducible value; the digits are random, not a fixed list. */
function rng(seed: number): (n: number) => string {
  const next = mulberry32(seed);
  return (n) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
}

/** Valid US numbers written `NNN-NNN-NNNN` (area codes that exist, a real exchange range). */
function usPhones(seed: number, count: number): string[] {
  const d = rng(seed);
  const areas = ['212', '415', '312', '617', '206', '303', '404', '512', '646', '702'];
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const n = `${areas[i % areas.length]}-${2 + (Number(d(1)) % 8)}${d(2)}-${d(4)}`;
    if (parsePhoneNumberFromString(n, 'US')?.isValid() && !n.includes('-555-')) out.push(n);
  }
  return out;
}

type Where = 'text' | 'json' | 'form' | 'query' | 'header';

/** The values of `type` found when `value` is sent as written in each place (URL-encoded where that is how it travels). */
function foundIn(where: Where, value: string, type: DetectorId = 'phone'): string[] {
  const pick = (raw: string, fs: ReadonlyArray<{ type: DetectorId; start: number; end: number }>): string[] => fs.filter((f) => f.type === type).map((f) => raw.slice(f.start, f.end));
  switch (where) {
    case 'text': {
      const raw = `ref ${value} noted`;
      return pick(raw, scrubBody(set, raw, 'text/plain').findings);
    }
    case 'json': {
      const raw = JSON.stringify({ note: 'x', ref: value, n: 1 });
      return pick(raw, scrubBody(set, raw, 'application/json').findings);
    }
    case 'form': {
      const raw = `a=1&ref=${encodeURIComponent(value)}&b=2`;
      return pick(raw, scrubBody(set, raw, 'application/x-www-form-urlencoded').findings);
    }
    case 'query': {
      const raw = `/v1/orders?ref=${encodeURIComponent(value)}&page=2`;
      return pick(raw, scrubQuery(set, raw).findings);
    }
    case 'header': {
      const r = scrubHeaders(set, [{ name: 'x-ref', value }]);
      return r.findings.filter((f) => f.type === type).map((f) => value.slice(f.start, f.end));
    }
  }
}

const EVERYWHERE: Where[] = ['text', 'json', 'form', 'query', 'header'];

describe('token boundaries for numeric PII', () => {
  it('does not report a phone that is part of a longer reference, order number or code, in any scanner', () => {
    const d = rng(7);
    for (const p of usPhones(1, 12)) {
      const identifiers = [
        `${p}-${d(2)}`,
        `${p}-${d(1)}`,
        `${d(3)}-${p}`,
        `ORD-${2015 + (Number(d(1)) % 10)}-${p}`,
        `INV${d(2)}-${p}`,
        `${p}${'ABX'[Number(d(1)) % 3]}`,
        `X${p}`,
        `${p}_${d(2)}`,
        `${p.replace(/-/g, '.')}.${d(1)}`,
      ];
      for (const id of identifiers) for (const where of EVERYWHERE) expect(foundIn(where, id), `${id} in ${where}`).toEqual([]);
    }
  });

  it('does not report digit groups of a reference number grouped unlike any phone as a phone', () => {
    const d = rng(11);
    for (let i = 0; i < 100; i++) {
      const shape = [[3, 3, 4, 2], [2, 3, 3, 4, 2], [4, 3, 3, 4], [3, 3, 4, 4], [1, 3, 3, 4, 2]][i % 5]!;
      const id = shape.map((n) => d(n)).join('-');
      for (const where of EVERYWHERE) expect(foundIn(where, id), `${id} in ${where}`).toEqual([]);
    }
  });

  it('does not report digit-only UUIDs, versions, timestamps or coordinates as phones', () => {
    const d = rng(3);
    for (let i = 0; i < 20; i++) {
      for (const id of [`${d(8)}-${d(4)}-${d(4)}-${d(4)}-${d(12)}`, `${1 + (i % 9)}.${d(3)}.${d(3)}.${d(4)}`, `20${d(2)}-0${1 + (i % 9)}-1${i % 9} 1${i % 9}:${d(1)}0:${d(1)}5`, `4${d(1)}.${d(6)}, -7${d(1)}.${d(6)}`]) {
        for (const where of EVERYWHERE) expect(foundIn(where, id), `${id} in ${where}`).toEqual([]);
      }
    }
  });

  it('still finds a phone delimited by spaces, punctuation, quotes, = and & or the start and end of the text', () => {
    for (const p of usPhones(2, 6)) {
      for (const text of [p, `${p}.`, `call ${p}, thanks`, `(${p})`, `"${p}"`, `tel=${p}&x=1`, `a=1&tel=${p}`, `phone:${p}`, `${p}\nnext`]) {
        const r = scrubBody(set, text, 'text/plain');
        expect(r.findings.map((f) => [f.type, text.slice(f.start, f.end)]), text).toEqual([['phone', p]]);
      }
      for (const where of EVERYWHERE) expect(foundIn(where, p), `${p} in ${where}`).toEqual([where === 'form' || where === 'query' ? encodeURIComponent(p) : p]);
    }
  });

  it('treats a percent-escaped delimiter as a boundary and an escaped letter, digit or hyphen-digit as part of the token', () => {
    for (const p of usPhones(4, 4)) {
      const spaced = `see%20${p}%20now`;
      expect(set.scanText(spaced).map((f) => spaced.slice(f.start, f.end))).toEqual([p]);
      const assigned = `tel%3D${p}%26x`;
      expect(set.scanText(assigned).map((f) => assigned.slice(f.start, f.end))).toEqual([p]);
      for (const glued of [`%41${p}`, `${p}%41`, `${p}%2D42`, `ORD%2D2024%2D${p}`]) expect(set.scanText(glued), glued).toEqual([]);
    }
  });

  it('reads a word after a hyphen as a label, so a number followed by -Fax is still a phone', () => {
    const text = 'Office: 020 7946 0958-Fax';
    expect(set.scanText(text).map((f) => [f.type, text.slice(f.start, f.end)])).toEqual([['phone', '020 7946 0958']]);
  });

  it('does not report a national number written without its trunk prefix unless a phone word is there', () => {
    // Paris 01 42 68 53 00 without its 0: valid to libphonenumber, but nobody dials it that way.
    expect(set.scanText('ref 1 42 68 53 00 ok')).toEqual([]);
    expect(set.scanText('ref 01 42 68 53 00 ok').map((f) => f.type)).toEqual(['phone']);
  });

  it('does not take the previous JSON member or form field as context for a value', () => {
    const json = JSON.stringify({ ssn: 'on file', ref: '536228514' });
    expect(scrubBody(set, json, 'application/json').findings).toEqual([]);
    expect(scrubBody(set, JSON.stringify({ ssn: '536228514' }), 'application/json').findings.map((f) => f.type)).toEqual(['us_ssn']);
  });

  it('does not report cards or SSNs glued to more digits, letters or escapes', () => {
    for (const v of ['4111111111111111-22', 'ORD-4111111111111111', '4111 1111 1111 1111%41', 'A536-22-8514', '536-22-8514-01', '536-22-8514x', '%33536-22-8514']) {
      for (const where of EVERYWHERE) expect([...foundIn(where, v, 'credit_card'), ...foundIn(where, v, 'us_ssn')], `${v} in ${where}`).toEqual([]);
    }
    for (const v of ['4111 1111 1111 1111', '536-22-8514']) {
      for (const where of EVERYWHERE) expect([...foundIn(where, v, 'credit_card'), ...foundIn(where, v, 'us_ssn')], `${v} in ${where}`).toHaveLength(1);
    }
  });

  it('finds an IBAN after a percent-escaped = but not one glued to more letters, digits or escapes', () => {
    const iban = 'DE89370400440532013000';
    const text = `see https://pay.test/t?iban%3D${iban}%26amt=1`;
    expect(set.scanText(text).map((f) => [f.type, text.slice(f.start, f.end)])).toEqual([['iban', iban]]);
    for (const glued of [`X${iban}`, `${iban}-12`, `${iban}%41`, `%41${iban}`]) {
      for (const where of EVERYWHERE) expect(foundIn(where, glued, 'iban'), `${glued} in ${where}`).toEqual([]);
    }
  });

  it('decides the same way when a streamed body splits a value from what continues it', () => {
    const [p] = usPhones(5, 1);
    const body = `note ${p}-42 and ${p}%41 but call ${p}-Fax or ${p}.`;
    for (let cut = 1; cut < body.length; cut++) {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        const s = createBodyStream(set, contentType);
        const found = [...s.push(body.slice(0, cut)).findings, ...s.push(body.slice(cut)).findings, ...s.end().findings];
        expect(found.map((f) => f.type), `cut at ${cut} (${contentType})`).toEqual(scrubBody(set, body, contentType).findings.map((f) => f.type));
      }
    }
    expect(scrubBody(set, body, 'text/plain').findings.map((f) => body.slice(f.start, f.end))).toEqual([p, p]);
  });
});
