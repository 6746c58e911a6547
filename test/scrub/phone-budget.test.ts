import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody, type Finding } from '../../src/scrub/index.js';
import { classifyPhone, DEFAULT_PHONE_REGIONS } from '../../src/scrub/detectors/phone.js';
import { createRegionFilter } from '../../src/scrub/detectors/phone-regions.js';
import { ScanBudget } from '../../src/scrub/scan-budget.js';
import { redactPath } from '../../src/scrub/path.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });
const REAL = '(415) 555-2671';

/** Reference numbers grouped like phones that libphonenumber rejects, all different so no memo helps. */
function decoys(count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = String(100_000_000 + ((i * 7_919_773) % 899_999_999));
    out.push(`ref ${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6, 9)}${i % 10}-${String(i % 97).padStart(2, '4')}`);
  }
  return out.join(', ');
}
/** More decoys than the default budget can parse (each costs one parse per region its length allows). */
const PADDING = decoys(3000);

describe('phone validation budget', () => {
  it('still scrubs a real phone written after enough decoys to spend the budget, and says the budget ran out', () => {
    const body = `${PADDING}\nCustomer line ${REAL} today`;
    const r = scrubBody(set, body, 'text/plain');
    expect(r.output).not.toContain('555-2671');
    expect(r.findings.some((f) => f.type === 'phone' && body.slice(f.start, f.end) === REAL)).toBe(true);
    expect(r.summary.note).toMatch(/phone validation budget spent/);
    expect(r.summary.phoneBudgetExhausted).toBeGreaterThan(0);
  });

  it('fails closed for a phone that libphonenumber would reject only because the budget is spent: every phone-shaped value is redacted', () => {
    const body = `${PADDING}\nref 415-555-2671-42 and +44 20 7946 0958`;
    const r = scrubBody(set, body, 'text/plain');
    expect(r.output).not.toContain('415-555-2671-42');
    expect(r.output).not.toContain('7946 0958');
  });

  it('spends one budget across a JSON body: a phone in a later field is scrubbed and the document stays JSON', () => {
    const records = PADDING.split(', ').map((ref, i) => ({ id: i, ref }));
    const body = JSON.stringify({ records, contact: { note: `reach me at ${REAL}` } });
    const r = scrubBody(set, body, 'application/json');
    const doc = JSON.parse(r.output) as { contact: { note: string } };
    expect(doc.contact.note).not.toContain('555-2671');
    expect(r.summary.note).toMatch(/phone validation budget spent/);
  });

  it('spends one budget across a stream, however it is chunked, and notes it once', () => {
    const body = Buffer.from(`${PADDING}\nCustomer line ${REAL} today`);
    const s = createBodyStream(set, 'text/plain');
    let out = '';
    const notes: string[] = [];
    const findings: Finding[] = [];
    for (let i = 0; i < body.length; i += 4096) {
      const step = s.push(body.subarray(i, i + 4096));
      out += step.output;
      findings.push(...step.findings);
      if (step.note !== undefined) notes.push(step.note);
    }
    const last = s.end();
    out += last.output;
    if (last.note !== undefined) notes.push(last.note);
    expect(out).not.toContain('555-2671');
    expect(notes).toHaveLength(1);
    expect(s.phoneBudgetExhausted).toBeGreaterThan(0);
  });

  it('leaves ordinary bodies alone: no note, decoys are not redacted, phones are', () => {
    const body = `${decoys(20)}\nCustomer line ${REAL} today`;
    const r = scrubBody(set, body, 'text/plain');
    expect(r.summary.note).toBeUndefined();
    expect(r.summary.phoneBudgetExhausted).toBeUndefined();
    expect(r.findings.filter((f) => f.type === 'phone')).toHaveLength(1);
    expect(r.output).toContain('ref ');
  });

  it('decides a repeated number the same way every time within one body (the memo)', () => {
    const line = `ref 415-555-2671-42 logged\nCustomer ${REAL}\n`;
    const r = scrubBody(set, line.repeat(500), 'text/plain');
    expect(r.findings.filter((f) => f.type === 'phone')).toHaveLength(500);
    expect(r.output).toContain('415-555-2671-42');
    expect(r.summary.note).toBeUndefined();
  });

  it('scrubs every phone of a list written back to back with single spaces (one long digit run)', () => {
    const phones = ['(415) 555-2671', '(415) 555-2672', '(415) 555-2673', '(415) 555-2674', '(415) 555-2675', '(212) 555-0188'];
    const r = scrubBody(set, `Numbers: ${phones.join(' ')}`, 'text/plain');
    for (const p of phones) expect(r.output).not.toContain(p.slice(-8));
    expect(r.findings.filter((f) => f.type === 'phone')).toHaveLength(phones.length);
  });

  it('a budget of 0 redacts every phone-shaped value by shape and reports it', () => {
    const strict = compileDetectors({ fingerprintKey: 'test-key', phoneParseBudget: 0 });
    const r = scrubBody(strict, 'ref 415-555-2671-42 then 4155552671 then 1234', 'text/plain');
    expect(r.output).not.toContain('415-555-2671-42');
    // A bare number without grouping or a phone word is never phone-shaped, so it stays.
    expect(r.output).toContain('4155552671');
    expect(r.summary.phoneBudgetExhausted).toBe(1);
    // Never validated, so no value to join on: every such phone has the one `unvalidated` fingerprint.
    expect(r.findings.map((f) => f.fingerprint)).toEqual([strict.fingerprint('phone', 'unvalidated')]);
  });

  it('an audit path of thousands of phone-shaped segments spends one budget, and what it decided by shape is never kept for other paths', () => {
    const segs = decoys(3000)
      .split(', ')
      .map((d) => d.slice(4));
    // With a budget per segment every decoy was parsed: ~0.75 s of CPU for one 48 KB path (docs: scrubbing).
    const audit = redactPath(`/v1/${segs.join('/')}`);
    expect(audit.startsWith(`/v1/${segs[0]}/${segs[1]}/`)).toBe(true);
    // The last segment was decided by shape in that path; alone in another path it is parsed and kept.
    const later = segs[2999]!;
    expect(redactPath(`/v1/orders/${later}`)).toBe(`/v1/orders/${later}`);
  });

  it('refuses a budget that is not a non-negative integer', () => {
    expect(() => compileDetectors({ phoneParseBudget: -1 })).toThrow(/phoneParseBudget/);
    expect(() => compileDetectors({ phoneParseBudget: 1.5 })).toThrow(/phoneParseBudget/);
  });

  it('with budget to spare, decides every candidate exactly as without a budget (memo included)', () => {
    const mayBeIn = createRegionFilter(DEFAULT_PHONE_REGIONS);
    const budget = new ScanBudget(1_000_000);
    const group = fc.stringMatching(/^[0-9]{1,5}$/);
    const candidate = fc
      .tuple(fc.constantFrom('', '+', '(', '0', '1', '00', '011', '+44 ', '+1 '), fc.array(group, { minLength: 1, maxLength: 5 }), fc.constantFrom(' ', '-', '.', ') ', ' - '))
      .map(([lead, groups, sep]) => (lead + groups.join(sep)).replace(/^\) /, ''));
    fc.assert(
      fc.property(candidate, fc.boolean(), (raw, hasCtx) => {
        const groups = raw.match(/\d+/g) ?? [];
        const seps = raw.split(/\d+/).slice(1, -1);
        const span = { raw, groups, seps };
        const exact = classifyPhone(span, DEFAULT_PHONE_REGIONS, hasCtx, mayBeIn);
        expect(classifyPhone(span, DEFAULT_PHONE_REGIONS, hasCtx, mayBeIn, budget)).toBe(exact);
        // Asked again: answered from the memo, the same.
        expect(classifyPhone(span, DEFAULT_PHONE_REGIONS, hasCtx, mayBeIn, budget)).toBe(exact);
      }),
      { seed: 20_261_202, numRuns: 800 },
    );
    expect(budget.structural).toBe(0);
  });
});

describe('scrub.phoneParseBudget in a policy', () => {
  it('reaches the compiled detector set, and a bad value is refused with its path', async () => {
    const { buildPolicy } = await import('../../src/engine/policy-version.js');
    const built = buildPolicy('version: 1\negress: []\nscrub:\n  phoneParseBudget: 0\n');
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.build.scrub.detectors.phoneParseBudget).toBe(0);
    const r = scrubBody(built.build.scrub.detectors, 'ref 415-555-2671-42', 'text/plain');
    expect(r.output).not.toContain('415-555-2671-42');
    const bad = buildPolicy('version: 1\negress: []\nscrub:\n  phoneParseBudget: -5\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.path)).toContain('scrub.phoneParseBudget');
  });
});
