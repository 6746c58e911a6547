import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody, scrubHeaders } from '../../src/scrub/index.js';
import { FindingTally } from '../../src/scrub/finding-tally.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });
const emails = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@example.com`);

describe('a flood of findings', () => {
  it('scrubs one JSON string holding 150,000 emails without overflowing the stack', () => {
    const body = JSON.stringify({ dump: emails(150_000).join(' ') });
    const r = scrubBody(set, body, 'application/json');
    expect(r.findings).toHaveLength(150_000);
    expect(r.output).not.toMatch(/u\d+@example\.com/);
    expect(JSON.parse(r.output)).toHaveProperty('dump');
  });

  it('scrubs a JSON array of 100,000 emails and a form of as many fields', () => {
    const list = emails(100_000);
    expect(scrubBody(set, JSON.stringify(list), 'application/json').findings).toHaveLength(100_000);
    const form = list.map((e, i) => `f${i}=${encodeURIComponent(e)}`).join('&');
    expect(scrubBody(set, form, 'application/x-www-form-urlencoded').findings).toHaveLength(100_000);
  });

  it('scrubs a header value holding 150,000 emails', () => {
    const r = scrubHeaders(set, [{ name: 'x-dump', value: emails(150_000).join(',') }]);
    expect(r.findings).toHaveLength(150_000);
  });

  it('streams 5 MB full of emails with a bounded tally: every finding counted, 1000 kept', () => {
    const tally = new FindingTally(1000);
    const s = createBodyStream(set, 'text/plain');
    const chunk = Buffer.from(emails(4000).join(' ') + ' ');
    let n = 0;
    let leaked = false;
    while (n * chunk.length < 5 * 1024 * 1024) {
      const step = s.push(chunk);
      tally.add(step.findings);
      if (step.output.includes('@example.com') && /u\d+@/.test(step.output)) leaked = true;
      n++;
      expect(s.pending).toBeLessThanOrEqual(chunk.length + set.maxMatchLength * 6);
    }
    tally.add(s.end().findings);
    expect(leaked).toBe(false);
    expect(tally.counts()).toEqual({ email: 4000 * n });
    expect(tally.kept).toHaveLength(1000);
    expect(tally.dropped).toBe(4000 * n - 1000);
  });
});

describe('FindingTally', () => {
  it('adds a batch of 500,000 findings at once, keeping the first ones and counting all by type', () => {
    const f = { type: 'email' as const, start: 0, end: 1, location: { kind: 'text' as const }, action: 'redact' as const, fingerprint: '0'.repeat(16) };
    const batch = Array.from({ length: 500_000 }, (_, i) => (i % 2 === 0 ? f : { ...f, type: 'us_ssn' as const }));
    const t = new FindingTally(10);
    t.add(batch);
    t.add([f]);
    expect(t.kept).toHaveLength(10);
    expect(t.counts()).toEqual({ email: 250_001, us_ssn: 250_000 });
    expect(t.dropped).toBe(499_991);
  });
});
