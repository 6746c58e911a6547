import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody, scrubHeaders, type Finding } from '../../src/scrub/index.js';
import { maxCarryRaw } from '../../src/scrub/stream.js';
import { sharedDataFile } from '../support/shared-data.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

function stream(body: string | Buffer, chunkSize: number, contentType: string) {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const s = createBodyStream(set, contentType);
  let out = '';
  const findings: Finding[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const step = s.push(bytes.subarray(i, i + chunkSize));
    out += step.output;
    for (const f of step.findings) findings.push(f);
  }
  const last = s.end();
  out += last.output;
  for (const f of last.findings) findings.push(f);
  return { out, findings };
}

interface Sample {
  full_text: string;
  spans: Array<{ entity_type: string; entity_value: string }>;
}
/** Presidio's labelled emails and cards (public, ../shared/data), only those Tollgate's detectors recognise in plain text. */
function labelled(entity: string, type: string): string[] {
  const data = JSON.parse(readFileSync(sharedDataFile('presidio-research-synth_dataset_v2.json'), 'utf8')) as Sample[];
  const values = new Set<string>();
  for (const s of data) for (const sp of s.spans) if (sp.entity_type === entity) values.add(sp.entity_value);
  return [...values].filter((v) => set.scanText(v).some((f) => f.type === type && f.start === 0 && f.end === v.length));
}
const emails = labelled('EMAIL_ADDRESS', 'email');
const cards = labelled('CREDIT_CARD', 'credit_card');

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
const jsonUnicode = (s: string) => s.replace(/[@.\s-]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('scrubbing cannot be bypassed by encoding', () => {
  it('has enough public labelled values to test with', () => {
    expect(emails.length).toBeGreaterThan(20);
    expect(cards.length).toBeGreaterThan(20);
  });

  it('scrubs percent-encoded emails and cards in a streamed form body, whatever the chunk size', () => {
    const body = emails.map((e, i) => `email${i}=${formEncode(e)}&card${i}=${formEncode(cards[i % cards.length]!)}&note${i}=hello+world`).join('&');
    const buffered = scrubBody(set, body, 'application/x-www-form-urlencoded');
    for (const size of [1, 7, 64, 4096]) {
      const r = stream(body, size, 'application/x-www-form-urlencoded');
      const decoded = decodeURIComponent(r.out.replace(/\+/g, ' '));
      for (const e of emails) expect(decoded).not.toContain(e);
      for (const c of cards) expect(decoded).not.toContain(c);
      expect(r.out).toBe(buffered.output);
      expect(r.out).toContain('hello+world');
    }
    expect(buffered.findings.filter((f) => f.type === 'email')).toHaveLength(emails.length);
  });

  it('lands a replacement on the encoded text, encoded for a form', () => {
    const body = 'to=alice%40example.com&cc=bob%40example.org&x=1';
    const r = stream(body, 5, 'application/x-www-form-urlencoded');
    expect(r.out).toBe('to=%5BREDACTED%3Aemail%5D&cc=%5BREDACTED%3Aemail%5D&x=1');
    expect(r.findings.map((f) => [f.start, f.end])).toEqual([
      [3, 22],
      [26, 43],
    ]);
  });

  it('detects \\u-escaped JSON strings, buffered and streamed, and keeps the document valid', () => {
    const doc = JSON.stringify({ users: emails.map((e, i) => ({ contact: e, card: cards[i % cards.length] })) });
    const escaped = doc.replace(/"([^"]*)"/g, (_m, s: string) => `"${jsonUnicode(s)}"`);
    expect(escaped).toContain('\\u0040');
    const buffered = scrubBody(set, escaped, 'application/json');
    const parsed = JSON.stringify(JSON.parse(buffered.output));
    for (const e of emails) expect(parsed).not.toContain(e);
    for (const c of cards) expect(parsed).not.toContain(c);
    for (const size of [3, 100, 8192]) {
      const r = stream(escaped, size, 'application/json');
      expect(r.out).toBe(buffered.output);
    }
  });

  it('scans a body with one invalid UTF-8 byte or a NUL instead of skipping it', () => {
    const good = Buffer.from('{"note":"mail alice@example.com please","k":"AKIAZ7QRSTUVWXYZ2345"}');
    const broken = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff]), Buffer.from('",'), good.subarray(1)]);
    for (const body of [broken, Buffer.from(good.toString().replace('please', 'please\u0000'))]) {
      const r = scrubBody(set, body, 'application/json');
      expect(r.output).not.toContain('alice@example.com');
      expect(r.output).not.toContain('AKIAZ7QRSTUVWXYZ2345');
      expect(r.findings.map((f) => f.type).sort()).toEqual(['aws_access_key_id', 'email']);
      const t = scrubBody(set, body, 'text/plain');
      expect(t.findings).toHaveLength(2);
      const s = stream(body, 4, 'application/json');
      expect(s.out).not.toContain('alice@example.com');
    }
  });

  it('finds a card or SSN glued to a token ending in digits, or in a long run of numbers (found by fuzzing)', () => {
    const types = (t: string) => set.scanText(t).map((f) => f.type);
    expect(types('AKIAZ7QRSTUVWXYZ2345  4111 1111 1111 1111')).toEqual(['aws_access_key_id', 'credit_card']);
    expect(types(' 4111 1111 1111 1111  4111 1111 1111 1111  4111 1111 1111 1111 ')).toEqual(['credit_card', 'credit_card', 'credit_card']);
    expect(types('SSN 536-22-8514  4111 1111 1111 1111  4111 1111 1111 1111')).toEqual(['us_ssn', 'credit_card', 'credit_card']);
  });

  it('scrubs URL-encoded values in cookies and custom headers, replacing the encoded bytes', () => {
    const r = scrubHeaders(set, [
      { name: 'Cookie', value: 'theme=dark; contact=alice%40example.com; n=1' },
      { name: 'X-Card', value: '4111%201111%201111%201111' },
    ]);
    expect(r.headers.map((h) => h.value)).toEqual(['theme=dark; contact=[REDACTED:email]; n=1', '****%20****%20****%201111'.replace(/%20/g, ' ')]);
    expect(r.findings.map((f) => [f.type, f.start, f.end])).toEqual([
      ['email', 20, 39],
      ['credit_card', 0, 25],
    ]);
  });

  it('keeps the streaming memory bound when every character is escaped', () => {
    const body = `{"x":"${'\\u0041'.repeat(300_000)}"}`;
    for (const [type, text] of [
      ['application/json', body],
      ['application/x-www-form-urlencoded', `x=${'%41'.repeat(500_000)}`],
    ] as const) {
      const s = createBodyStream(set, type);
      let max = 0;
      for (let i = 0; i < text.length; i += 16_384) {
        s.push(Buffer.from(text.slice(i, i + 16_384)));
        max = Math.max(max, s.pending);
      }
      s.end();
      expect(max).toBeLessThanOrEqual(16_384 + maxCarryRaw(set));
    }
  });
});
