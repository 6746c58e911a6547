import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/audit/cli.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { events, tempDataDir } from './fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await auditCommand(argv, { stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

async function logWith(count: number): Promise<string> {
  const dataDir = tempDataDir();
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0, maxSegmentBytes: 8000 });
  // Event times are 2026-11-25T12:00:00Z + i seconds.
  await store.append(events(0, count));
  await store.close();
  return dataDir;
}

describe('tollgate audit', () => {
  it('verify exits 0 and summarises an intact log', async () => {
    const dataDir = await logWith(40);
    const out = await run('verify', '--data', dataDir);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toMatch(/ok, 40 records in 1 segments, seq 1\.\.40/);
  });

  it('verify and export read the data directory serve uses when TOLLGATE_DATA_DIR is set and no --data is given', async () => {
    const dataDir = await logWith(12);
    const before = process.env.TOLLGATE_DATA_DIR;
    process.env.TOLLGATE_DATA_DIR = dataDir;
    try {
      expect((await run('verify')).stdout).toMatch(/ok, 12 records/);
      expect((await run('export', '--since', '2026-11-25T00:00:00Z')).stdout.trim().split('\n')).toHaveLength(12);
    } finally {
      if (before === undefined) delete process.env.TOLLGATE_DATA_DIR;
      else process.env.TOLLGATE_DATA_DIR = before;
    }
  });

  it('verify exits 1 and names the first broken record', async () => {
    const dataDir = await logWith(40);
    const file = join(dataDir, 'audit', 'audit-0000000000000001.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[5] = lines[5]!.replace('"destination":"api.stripe.com:443"', '"destination":"api.stripe.org:443"');
    writeFileSync(file, lines.join('\n'));
    const out = await run('verify', '--data', dataDir);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/BROKEN at audit-0000000000000001\.jsonl line 6 \(seq 5\): hash mismatch/);
  });

  it('verify exits 1 when there is no audit log', async () => {
    const out = await run('verify', '--data', join(tempDataDir(), 'nowhere'));
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/no audit log at/);
  });

  it('export writes the records in the time range as JSONL, oldest first, with their chain fields', async () => {
    const dataDir = await logWith(40);
    const out = await run('export', '--since', '2026-11-25T12:00:10Z', '--until', '2026-11-25T12:00:20Z', '--format', 'jsonl', '--data', dataDir);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; prev_hash: string });
    expect(lines.map((r) => r.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(lines[1]!.prev_hash).toBe(lines[0]!.hash);
  });

  it('export takes a relative --since, and exports nothing from the future', async () => {
    const dataDir = await logWith(5);
    const all = await run('export', '--since', '5000d', '--data', dataDir);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(5);
    const none = await run('export', '--since', '1h', '--until', '2000-01-01', '--data', dataDir);
    expect(none).toMatchObject({ code: 0, stdout: '' });
  });

  it('export rejects a missing or malformed --since and an unknown format with exit 2', async () => {
    const dataDir = await logWith(1);
    expect((await run('export', '--data', dataDir)).stderr).toMatch(/--since is required/);
    expect(await run('export', '--since', 'yesterday', '--data', dataDir)).toMatchObject({ code: 2 });
    expect((await run('export', '--since', '1h', '--format', 'csv', '--data', dataDir)).stderr).toMatch(/only jsonl/);
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('prints help for audit, verify and export', async () => {
    expect((await run('--help')).stdout).toMatch(/tollgate audit verify/);
    expect(await run('verify', '--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/Usage: tollgate audit verify/) });
    expect(await run('export', '--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/Usage: tollgate audit export/) });
  });
});
