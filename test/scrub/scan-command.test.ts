import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runScanCommand } from '../../src/scrub/index.js';

async function run(argv: string[], stdin = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runScanCommand(argv, { stdin: Readable.from([stdin]), stdout, stderr });
  return { code, out, err };
}

describe('tollgate scan', () => {
  it('prints the scrubbed input on stdout and the findings on stderr', async () => {
    const r = await run(['-'], 'mail bob@example.com please');
    expect(r.code).toBe(1);
    expect(r.out).toBe('mail [REDACTED:email] please\n');
    expect(r.err).toMatch(/1 finding\(s\)/);
    expect(r.err).toMatch(/email .* 5-20 .*redact/);
    expect(r.err).not.toContain('bob@example.com');
  });

  it('exits 0 when nothing is found', async () => {
    expect((await run([], 'nothing here')).code).toBe(0);
  });

  it('reads a JSON file and keeps it valid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-'));
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"email":"bob@example.com"}');
    const r = await run([file]);
    expect(JSON.parse(r.out)).toEqual({ email: '[REDACTED:email]' });
    expect(r.err).toMatch(/\$\.email/);
  });

  it('answers one JSON line per input line in --jsonl mode with UTF-16 offsets', async () => {
    const input = [JSON.stringify({ id: 1, text: '👋 bob@example.com' }), JSON.stringify({ id: 'b', text: '{"card":"4111111111111111"}', content_type: 'application/json' }), 'not json'].join('\n');
    const r = await run(['--jsonl'], input);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ id: 1, findings: [{ type: 'email', start: 3, end: 18, action: 'redact' }], scrubbed: '👋 [REDACTED:email]' });
    expect(lines[1]).toEqual({ id: 'b', findings: [{ type: 'credit_card', start: 9, end: 25, action: 'mask' }], scrubbed: '{"card":"************1111"}' });
    expect(lines[2]).toMatchObject({ id: null, line: 3 });
    expect(r.code).toBe(2);
  });

  it('applies actions from a policy file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'version: 1\nscrub:\n  defaults:\n    email: allow\n');
    const r = await run(['--policy', policy], 'bob@example.com');
    expect(r.out).toBe('bob@example.com\n');
  });

  it('writes the same hash token in --jsonl mode as in a plain scan (a fingerprint is still made where it is the replacement)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'version: 1\nscrub:\n  defaults:\n    email: hash\n');
    process.env.TOLLGATE_FINGERPRINT_KEY = 'scan-test-key';
    try {
      const plain = await run(['--policy', policy], 'mail bob@example.com');
      const jsonl = await run(['--policy', policy, '--jsonl'], JSON.stringify({ id: 1, text: 'mail bob@example.com' }));
      const token = /\[HASH:email:[0-9a-f]{16}\]/.exec(plain.out)?.[0];
      expect(token).toBeDefined();
      expect((JSON.parse(jsonl.out) as { scrubbed: string }).scrubbed).toBe(`mail ${token}`);
    } finally {
      delete process.env.TOLLGATE_FINGERPRINT_KEY;
    }
  });

  it('copies unchanged text as it was written and parses every answer to the input text', async () => {
    const texts = ['plain', 'quote " and \\ backslash', 'esc\u0041ped', 'line\nbreak\r\n', '👋 日本', '{"a":"b\\"c"}'];
    const lines = texts.map((text, id) => JSON.stringify({ text, id, content_type: id === 5 ? 'application/json' : 'text/plain' }));
    lines.push('{"id":"dup","text":"first","text":"second"}', '{"te\\u0078t":"escaped key","id":"k"}', '  {"id":"ws" , "text" : "spaced" }  ');
    const r = await run(['--jsonl'], lines.join('\r\n'));
    const answers = r.out.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; scrubbed: string; findings: unknown[] });
    expect(answers.map((a) => a.scrubbed)).toEqual([...texts, 'second', 'escaped key', 'spaced']);
    expect(answers.map((a) => a.id)).toEqual([0, 1, 2, 3, 4, 5, 'dup', 'k', 'ws']);
    expect(r.code).toBe(0);
  });

  it('rejects a policy naming an unknown detector, with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'version: 1\nscrub:\n  defaults:\n    emails: redact\n');
    const r = await run(['--policy', policy], 'x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown detector id\(s\): emails/);
  });

  it('prints usage with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: tollgate scan/);
  });

  // `tollgate scan … | head -1`: the reader takes one chunk and closes the pipe while output is still coming.
  async function pipedIntoEarlyCloser(argv: string[], stdin: string): Promise<{ code: number | null; signal: string | null; first: string; err: string }> {
    const child = spawn(process.execPath, ['bin/tollgate.js', 'scan', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let first = '';
    let err = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString();
      child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    return { code, signal, first, err };
  }

  it('stops quietly, without an EPIPE crash, when the reader of stdout closes early', async () => {
    const text = 'line bob@example.com\n'.repeat(200_000);
    const r = await pipedIntoEarlyCloser(['-'], text);
    expect(r.first).toContain('[REDACTED:email]');
    expect(r.err).not.toMatch(/EPIPE|Unhandled/);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
  }, 60_000);

  it('stops reading JSON lines once nobody reads the answers', async () => {
    const lines = `${JSON.stringify({ id: 1, text: 'bob@example.com' })}\n`.repeat(50_000);
    const r = await pipedIntoEarlyCloser(['--jsonl'], lines);
    expect(r.first).toContain('"id":1');
    expect(r.err).not.toMatch(/EPIPE|Unhandled/);
    expect(r.code).toBe(0);
  }, 60_000);
});
