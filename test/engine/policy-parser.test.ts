import { afterAll, describe, expect, it } from 'vitest';
import { PolicyParser } from '../../src/engine/policy-parser.js';

const parser = new PolicyParser({ timeoutMs: 200 });
afterAll(() => parser.close());

describe('policy parser worker', () => {
  it('parses in a worker thread and answers plain data', async () => {
    expect(await parser.parse('version: 1\negress: []\n')).toEqual({ ok: true, document: { version: 1, egress: [] } });
  });

  it('a document still parsing at the time limit is refused by name, and the next one is parsed by a fresh worker', async () => {
    // ~400,000 comment lines take seconds of YAML work: far beyond the 200 ms bound set above.
    const slow = await parser.parse('#\n'.repeat(400_000));
    expect(slow).toMatchObject({ ok: false, limit: { name: 'parseTimeoutMs', value: 200 } });
    expect(await parser.parse('a: 1\n')).toEqual({ ok: true, document: { a: 1 } });
  });

  it('documents queued behind each other are answered in order, each with its own result', async () => {
    const results = await Promise.all(['a: 1', '[', 'b: 2'].map((t) => parser.parse(t)));
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
  });
});
