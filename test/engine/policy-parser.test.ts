import { afterAll, describe, expect, it } from 'vitest';
import { PolicyParser } from '../../src/engine/policy-parser.js';

const parser = new PolicyParser();
const impatient = new PolicyParser({ timeoutMs: 1000 });
afterAll(async () => {
  await parser.close();
  await impatient.close();
});

describe('policy parser worker', () => {
  it('parses in a worker thread and answers plain data', async () => {
    expect(await parser.parse('version: 1\negress: []\n')).toEqual({ ok: true, document: { version: 1, egress: [] } });
  });

  it('a document still parsing at the time limit is refused by name, and the next one is parsed by a fresh worker', async () => {
    // 500,000 comment lines (1 MB, the size limit) take several seconds of YAML work: far beyond a 1 s bound.
    const slow = await impatient.parse('#\n'.repeat(500_000));
    expect(slow).toMatchObject({ ok: false, limit: { name: 'parseTimeoutMs', value: 1000 } });
    expect(await impatient.parse('a: 1\n')).toEqual({ ok: true, document: { a: 1 } });
  });

  it('documents queued behind each other are answered in order, each with its own result', async () => {
    const results = await Promise.all(['a: 1', '[', 'b: 2'].map((t) => parser.parse(t)));
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
  });
});
