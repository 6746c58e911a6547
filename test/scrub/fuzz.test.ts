import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody } from '../../src/scrub/index.js';

/** Fixed seed and run counts: the same cases on every CI run, within a bounded time. */
const RUNS = { seed: 20_261_202, numRuns: 150 };
const set = compileDetectors({ fingerprintKey: 'fuzz-key' });

/** Values Tollgate must remove wherever they appear (see test/scrub/detectors.test.ts). */
const KNOWN = [
  'alice@example.com',
  'bob.smith+tag@mail.example.org',
  '4111 1111 1111 1111',
  '5500005555555559',
  'SSN 536-22-8514',
  'AKIAZ7QRSTUVWXYZ2345',
  'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
];

/** The raw value inside a known piece (a context word may precede it). */
const secretOf = (v: string) => v.replace(/^SSN /, '');

const filler = fc.string({ unit: fc.constantFrom(...Array.from('abcdefghij klmnopqrstuvwxyz ,.;:!?-é日😀')), maxLength: 40 }).map((s) => ` ${s} `);
const injected = fc.constantFrom(...KNOWN);
/** Pieces of a body: filler and known values, always separated so a value keeps its word boundaries. */
const pieces = fc.array(fc.oneof({ weight: 2, arbitrary: filler.map((f) => ({ kind: 'filler' as const, text: f })) }, injected.map((v) => ({ kind: 'value' as const, text: v }))), { maxLength: 12 });
/** Where a body is cut into chunks, as fractions of its length. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 });

function streamed(body: Buffer, fractions: number[], contentType: string): string {
  const points = [...new Set(fractions.map((f) => Math.floor(f * body.length)))].sort((a, b) => a - b);
  const s = createBodyStream(set, contentType);
  let out = '';
  let from = 0;
  for (const p of [...points, body.length]) {
    if (p > from) out += s.push(body.subarray(from, p)).output;
    from = Math.max(from, p);
  }
  return out + s.end().output;
}

describe('fuzzing the scanners and the stream (seeded, bounded)', () => {
  it('every known value is detected on its own', () => {
    for (const v of KNOWN) expect(scrubBody(set, ` ${v} `, 'text/plain').output, v).not.toContain(secretOf(v));
  });

  it('text: any body cut into any chunks streams to exactly the buffered output, and every known value is gone', () => {
    fc.assert(
      fc.property(pieces, cuts, (ps, fr) => {
        const body = ps.map((p) => (p.kind === 'value' ? ` ${p.text} ` : p.text)).join('');
        const buffered = scrubBody(set, body, 'text/plain').output;
        expect(streamed(Buffer.from(body), fr, 'text/plain')).toBe(buffered);
        for (const p of ps) if (p.kind === 'value') expect(buffered).not.toContain(secretOf(p.text));
      }),
      RUNS,
    );
  });

  it('form: percent-encoded or plain values, any chunking: streamed equals buffered, and no value survives decoding', () => {
    const field = fc.tuple(fc.constantFrom('note', 'q', 'email', 'x_1'), fc.oneof(injected, filler), fc.constantFrom('pct', 'plus', 'raw'));
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 8 }), cuts, (fields, fr) => {
        const enc = (v: string, how: string) => (how === 'raw' ? v.replace(/[&=%+]/g, encodeURIComponent) : how === 'plus' ? encodeURIComponent(v).replace(/%20/g, '+') : encodeURIComponent(v));
        const body = fields.map(([k, v, how]) => `${k}=${enc(v, how)}`).join('&');
        const buffered = scrubBody(set, body, 'application/x-www-form-urlencoded').output;
        expect(streamed(Buffer.from(body), fr, 'application/x-www-form-urlencoded')).toBe(buffered);
        const decoded = buffered.split('&').map((kv) => decodeURIComponent(kv.replace(/\+/g, ' '))).join('&');
        for (const [, v] of fields) if (KNOWN.includes(v)) expect(decoded).not.toContain(secretOf(v));
      }),
      RUNS,
    );
  });

  it('JSON: escaped or plain strings, any chunking: streamed equals buffered, the output parses, and no value survives', () => {
    const value = fc.tuple(fc.oneof(injected, filler), fc.boolean());
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), cuts, (values, fr) => {
        const members = values.map(([v, escape], i) => {
          const s = JSON.stringify(` ${v} `).slice(1, -1);
          return `"k${i}":"${escape ? s.replace(/[@.\s-]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s}"`;
        });
        const body = `{${members.join(',')}}`;
        const buffered = scrubBody(set, body, 'application/json').output;
        expect(streamed(Buffer.from(body), fr, 'application/json')).toBe(buffered);
        const parsed = JSON.stringify(JSON.parse(buffered));
        for (const [v] of values) if (KNOWN.includes(v)) expect(parsed).not.toContain(secretOf(v));
      }),
      RUNS,
    );
  });

  it('arbitrary bytes under every content type never throw, buffered or streamed', () => {
    const types = ['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'application/octet-stream', undefined];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(...types), cuts, (bytes, type, fr) => {
        const body = Buffer.from(bytes);
        scrubBody(set, body, type);
        streamed(body, fr, type ?? 'text/plain');
      }),
      { ...RUNS, numRuns: 300 },
    );
  });
});
