import { describe, expect, it } from 'vitest';
import { compileDetectors, createBodyStream, scrubBody } from '../../src/scrub/index.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

function runStream(body: string, chunkSize: number, contentType = 'text/plain') {
  const s = createBodyStream(set, contentType);
  let out = '';
  const findings = [];
  let maxPending = 0;
  for (let i = 0; i < body.length; i += chunkSize) {
    const step = s.push(Buffer.from(body.slice(i, i + chunkSize)));
    out += step.output;
    findings.push(...step.findings);
    maxPending = Math.max(maxPending, s.pending);
  }
  const last = s.end();
  out += last.output;
  findings.push(...last.findings);
  return { out, findings, maxPending, blocked: last.blocked };
}

describe('streaming bodies', () => {
  it('catches a token split across two chunks', () => {
    const token = 'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5';
    const body = 'x '.repeat(20_000) + token + ' y'.repeat(20_000);
    const split = 40_000 + 10;
    const s = createBodyStream(set, 'text/plain');
    const a = s.push(body.slice(0, split));
    const b = s.push(body.slice(split));
    const c = s.end();
    const out = a.output + b.output + c.output;
    expect(out).toBe('x '.repeat(20_000) + '[REDACTED:github_token]' + ' y'.repeat(20_000));
    const findings = [...a.findings, ...b.findings, ...c.findings];
    expect(findings.map((f) => [f.type, f.start, f.end])).toEqual([['github_token', 40_000, 40_000 + token.length]]);
  });

  it('produces the same output as a buffered scan, whatever the chunk size', () => {
    const line = 'mail bob@example.com, card 4111 1111 1111 1111, key AKIAZ7QRSTUVWXYZ2345. ';
    const body = line.repeat(2000);
    const whole = scrubBody(set, body, 'text/plain');
    for (const size of [997, 8192, 65_536]) {
      const r = runStream(body, size);
      expect(r.out).toBe(whole.output);
      expect(r.findings.map((f) => f.start)).toEqual(whole.findings.map((f) => f.start));
    }
  });

  it('keeps memory bounded to one chunk plus the carry-over', () => {
    const body = 'lorem ipsum '.repeat(100_000);
    const r = runStream(body, 16_384);
    expect(r.maxPending).toBeLessThanOrEqual(set.maxMatchLength + 16_384);
  });

  it('decodes multi-byte UTF-8 split across chunks', () => {
    const body = 'é'.repeat(10) + ' bob@example.com ' + '日本'.repeat(10);
    const r = runStream(body, 3);
    expect(r.out).toBe('é'.repeat(10) + ' [REDACTED:email] ' + '日本'.repeat(10));
  });

  it('quotes a replacement that lands outside a JSON string while streaming', () => {
    const r = runStream('{"card":4111111111111111,"mail":"bob@example.com"}', 5, 'application/json');
    expect(JSON.parse(r.out)).toEqual({ card: '************1111', mail: '[REDACTED:email]' });
  });

  it('reports blocked once a block-action finding streams past', () => {
    const strict = compileDetectors({ actions: { email: 'block' } });
    const s = createBodyStream(strict, 'text/plain');
    s.push('hello bob@example.com');
    expect(s.end().blocked).toBe(true);
  });
});
