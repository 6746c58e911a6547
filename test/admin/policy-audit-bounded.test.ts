import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DIFF_LIMITS, policyDiff } from '../../src/admin/policy-diff.js';
import { auditCommand } from '../../src/audit/cli.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A policy of `rules` allow rules for one identity; `tag` changes every host, so two tags share no rule line. */
function bigPolicy(rules: number, tag: string): string {
  const lines = ['version: 1', 'identities:', '  - { name: ci, match: { spiffe: "spiffe://ci/*" } }', 'egress:', '  - identity: ci', '    allow:'];
  for (let i = 0; i < rules; i++) lines.push(`      - { id: r${i}, host: h${i}.${tag}.example.com, methods: [GET] }`);
  return `${lines.join('\n')}\n`;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const noPause = () => Promise.resolve();

describe('bounded policy diff', () => {
  it('a one-line edit in a large policy shows that line with its line number, and counts 1 added and 1 removed', async () => {
    const before = bigPolicy(20_000, 'a');
    const after = before.replace('h12345.a.example.com', 'changed.example.com');
    const d = await policyDiff(before, after, noPause);
    expect(d.lines).toEqual(['@@ -12352 +12352 @@', '-      - { id: r12345, host: h12345.a.example.com, methods: [GET] }', '+      - { id: r12345, host: changed.example.com, methods: [GET] }']);
    expect(d.stats).toEqual({ added: 1, removed: 1, omitted: 0, exact: true, from_sha256: sha(before), to_sha256: sha(after) });
  });

  it('a whole policy replaced: counts every changed line, shows only the first ones, within the caps', async () => {
    const before = bigPolicy(20_000, 'a');
    const after = bigPolicy(25_000, 'b');
    const d = await policyDiff(before, after, noPause);
    expect(d.stats).toMatchObject({ removed: 20_000, added: 25_000, exact: false });
    expect(d.lines.length).toBeLessThanOrEqual(DIFF_LIMITS.maxLines);
    expect(d.lines.join('').length).toBeLessThanOrEqual(DIFF_LIMITS.maxChars);
    expect(d.lines[0]).toBe('@@ -7 @@');
    expect(d.lines[1]).toBe('-      - { id: r0, host: h0.a.example.com, methods: [GET] }');
    expect(d.stats.omitted).toBe(45_000 - d.lines.filter((l) => !l.startsWith('@@')).length);
  });

  it('no change and a first version: empty and all-added', async () => {
    const text = bigPolicy(3, 'a');
    expect((await policyDiff(text, text, noPause)).stats).toMatchObject({ added: 0, removed: 0, omitted: 0 });
    expect((await policyDiff('', text, noPause)).stats).toMatchObject({ added: text.split('\n').length - 1, removed: 0, from_sha256: sha('') });
  });

  it('an inserted blank line and a text without a final newline', async () => {
    expect((await policyDiff('a\nb\n', 'a\n\nb\n', noPause)).lines).toEqual(['@@ -2 +2 @@', '+']);
    expect((await policyDiff('a\nb', 'a\nc', noPause)).lines).toEqual(['@@ -2 +2 @@', '-b', '+c']);
  });
});

describe('admin audit of a large policy change', () => {
  it('replacing a 20,000-rule policy writes one bounded record with counts and hashes that verifies in the chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-audit-big-'));
    dirs.push(dir);
    const first = bigPolicy(20_000, 'a');
    const second = bigPolicy(20_000, 'b');
    writeFileSync(join(dir, 'policy.yaml'), first);
    const dataDir = join(dir, 'data');
    const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir, policyFile: join(dir, 'policy.yaml'), watchPolicy: false }, {});
    const server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: async () => ['93.184.216.34'] });
    try {
      const res = await fetch(`http://127.0.0.1:${server.adminPort}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: second });
      expect(res.status).toBe(200);
      const records = ((await (await fetch(`http://127.0.0.1:${server.adminPort}/v1/audit?kind=admin`)).json()) as { records: Array<Record<string, unknown>> }).records;
      const rec = records.find((r) => r.action === 'policy.update' && r.to_version === 2)!;
      expect(rec).toMatchObject({ who: 'loopback', from_version: 1, diff_stats: { added: 20_000, removed: 20_000, exact: false, from_sha256: sha(first), to_sha256: sha(second) } });
      expect(rec.truncated).toBeUndefined();
      expect((rec.diff as string[])[1]).toBe('-      - { id: r0, host: h0.a.example.com, methods: [GET] }');
    } finally {
      await server.close();
    }
    const stdout = new PassThrough();
    const out: Buffer[] = [];
    stdout.on('data', (b: Buffer) => out.push(b));
    expect(await auditCommand(['verify', '--data', dataDir], { stdout, stderr: stdout })).toBe(0);
    const line = readdirSync(join(dataDir, 'audit'))
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dataDir, 'audit', f), 'utf8').split('\n'))
      .find((l) => l.includes('"kind":"admin"'))!;
    expect(Buffer.byteLength(line)).toBeLessThan(64 * 1024);
  }, 120_000);
});
