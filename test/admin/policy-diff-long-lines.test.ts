import { describe, expect, it } from 'vitest';
import { DIFF_LIMITS, policyDiff } from '../../src/admin/policy-diff.js';

/**
 * Lines longer than 16,383 characters all get the same string hash in V8 (by length only), so a Map keyed by such
 * lines, or an LCS comparing them, compares whole lines against each other: 1,500 changed comment lines of 20,000
 * characters sharing a prefix (30 MB, under the 32 MiB policy limit) held the event loop for longer than this test's
 * 30 s timeout before lines were matched by digest.
 */
const longLines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `# ${'x'.repeat(20_000)} ${tag}${i}`).join('\n');
const noPause = () => Promise.resolve();

describe('bounded policy diff with long lines', () => {
  it('1,500 changed 20,000-character lines on each side are counted, and the sample keeps to its caps', async () => {
    const before = `version: 1\n${longLines(1_500, 'a')}\negress: []\n`;
    const after = `version: 1\n${longLines(1_500, 'b')}\negress: []\n`;
    const d = await policyDiff(before, after, noPause);
    expect(d.stats).toMatchObject({ added: 1_500, removed: 1_500, exact: false });
    expect(d.lines[0]).toBe('@@ -2 @@');
    expect(d.lines[1]).toBe(`-# ${'x'.repeat(DIFF_LIMITS.maxLineChars - 2)}…`);
    expect(d.stats.omitted).toBe(3_000 - d.lines.filter((l) => !l.startsWith('@@')).length);
  });

  it('an exact diff of long lines shows the lines that changed, not those that only moved by one', async () => {
    const lines = Array.from({ length: 900 }, (_, i) => `# ${'y'.repeat(17_000)} ${i}`);
    const before = `version: 1\n${lines.join('\n')}\n`;
    const after = `version: 1\n${[...lines.slice(0, 400), '# inserted', ...lines.slice(400, 899), '# last'].join('\n')}\n`;
    const d = await policyDiff(before, after, noPause);
    expect(d.stats).toMatchObject({ added: 2, removed: 1, exact: true, omitted: 0 });
    expect(d.lines).toEqual(['@@ -402 +402 @@', '+# inserted', '@@ -901 +902 @@', `-# ${'y'.repeat(DIFF_LIMITS.maxLineChars - 2)}…`, '+# last']);
  });
});
