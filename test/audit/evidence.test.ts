import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/audit/cli.js';
import type { AuditStatus } from '../../src/audit/health.js';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { TEST_POLICY } from '../support/policies.js';
import { startTestServer } from '../support/server.js';
import { events, tempDataDir, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = (dataDir: string) => openAuditStore({ dataDir });

/** A closed store with `n` records in one segment; returns the segment's path and its bytes. */
async function oneSegment(n = 40): Promise<{ dataDir: string; dir: string; file: string; path: string; bytes: Buffer }> {
  const dataDir = tempDataDir();
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
  for (let i = 0; i < n; i += 10) await store.append(events(i, 10));
  await store.close();
  const dir = join(dataDir, 'audit');
  const file = 'audit-0000000000000001.jsonl';
  const path = join(dir, file);
  return { dataDir, dir, file, path, bytes: readFileSync(path) };
}

/** Every file under `dir`, recursively, with its bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) for (const [k, v] of filesUnder(p)) out.set(k, v);
    else out.set(p, readFileSync(p));
  }
  return out;
}

function flipByte(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = copy[at] === 0x61 ? 0x62 : 0x61;
  return copy;
}

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
  const code = await auditCommand(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

describe('audit recovery keeps evidence', () => {
  it('keeps a segment whose header has one flipped byte: quarantined whole, never deleted, and the log goes on', async () => {
    const { dataDir, dir, path, bytes } = await oneSegment();
    const damaged = flipByte(bytes, bytes.indexOf('"created"') + 3);
    writeFileSync(path, damaged);

    const store = await openStore(dataDir);
    const kept = [...filesUnder(dir).values()].filter((b) => b.equals(damaged));
    expect(kept).toHaveLength(1);
    expect(store.recovery).toEqual([expect.objectContaining({ action: 'quarantined', line: 1, reason: 'bad_header' })]);
    expect(store.status().quarantined).toEqual([expect.objectContaining({ segment: expect.stringContaining('audit-0000000000000001.jsonl'), line: 1, reason: 'bad_header' })]);

    await store.append(events(40, 3));
    const page = await store.query({ limit: 10 });
    expect(page.records.map((r) => r.decision_id)).toEqual(['dec-42', 'dec-41', 'dec-40']);
    const report = await store.verify();
    expect(report.ok).toBe(false);
    expect(report.quarantined).toEqual([expect.objectContaining({ line: 1, reason: 'bad_header' })]);
  });

  it('keeps a modified last record instead of cutting it as a torn tail; verify fails and names it', async () => {
    const { dataDir, dir, file, path, bytes } = await oneSegment();
    const lines = bytes.toString('utf8').trimEnd().split('\n');
    const lastLine = lines.length;
    const damaged = flipByte(bytes, bytes.lastIndexOf('"identity":"') + 13);
    writeFileSync(path, damaged);

    const store = await openStore(dataDir);
    expect([...filesUnder(dir).values()].filter((b) => b.equals(damaged))).toHaveLength(1);
    expect(store.recovery).toEqual([expect.objectContaining({ action: 'quarantined', line: lastLine, reason: 'hash_mismatch' })]);
    // The 39 intact records before it stay readable, and new records chain on from the last intact one.
    await store.append(events(100, 2));
    const seqs: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.query({ limit: 50, cursor });
      seqs.push(...page.records.map((r) => r.seq));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seqs).toEqual([41, 40, ...Array.from({ length: 39 }, (_, i) => 39 - i)]);
    await store.close();

    const report = await verifyAuditDir(dir);
    expect(report.ok).toBe(false);
    expect(report.quarantined).toEqual([expect.objectContaining({ segment: expect.stringContaining(file), line: lastLine, seq: 40, reason: 'hash_mismatch' })]);
    expect(report.records).toBe(41);
    const cli = await runCli(['verify', '--data', dataDir]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(file);
    expect(cli.stderr).toContain(`line ${lastLine}`);
  });

  it('keeps a segment with a complete line that does not parse in the middle, and everything after it', async () => {
    const { dataDir, dir, path, bytes } = await oneSegment();
    const text = bytes.toString('utf8').split('\n');
    text[10] = 'not json at all';
    const damaged = Buffer.from(text.join('\n'));
    writeFileSync(path, damaged);
    const store = await openStore(dataDir);
    expect([...filesUnder(dir).values()].filter((b) => b.equals(damaged))).toHaveLength(1);
    expect(store.recovery[0]).toMatchObject({ action: 'quarantined', line: 11, reason: 'unparsable' });
    expect((await store.query({ limit: 1 })).records[0]?.seq).toBe(9);
  });

  it('still cuts a genuinely torn tail (an incomplete last line) and reports nothing quarantined', async () => {
    const { dataDir, path, bytes } = await oneSegment();
    writeFileSync(path, Buffer.concat([bytes, Buffer.from('{"seq":41,"time":"2026-11-25T12:00:41.000Z","ki')]));
    const store = await openStore(dataDir);
    expect(store.recovery).toEqual([expect.objectContaining({ action: 'truncated_torn_tail', lines: 1 })]);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(store.status().quarantined).toEqual([]);
    expect(existsSync(join(dataDir, 'audit', 'quarantine'))).toBe(false);
  });

  it('reports quarantined segments again after a restart', async () => {
    const { dataDir, path, bytes } = await oneSegment();
    writeFileSync(path, flipByte(bytes, bytes.lastIndexOf('"identity":"') + 13));
    const first = await openStore(dataDir);
    await first.append(events(200, 1));
    await first.close();
    const second = await openStore(dataDir);
    expect(second.recovery).toEqual([]);
    expect(second.status().quarantined).toEqual([expect.objectContaining({ reason: 'hash_mismatch' })]);
    expect((await second.verify()).ok).toBe(false);
  });

  it('shows a quarantined segment in GET /v1/audit/status and tollgate_audit_quarantined_segments_total of a running server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-quarantine-'));
    const dataDir = join(dir, 'data');
    const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
    await store.append(events(0, 10));
    await store.close();
    const path = join(dataDir, 'audit', 'audit-0000000000000001.jsonl');
    const bytes = readFileSync(path);
    writeFileSync(path, flipByte(bytes, bytes.lastIndexOf('"identity":"') + 13));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const server = await startTestServer(TEST_POLICY, { dir });
    try {
      const status = (await (await server.admin('/v1/audit/status')).json()) as AuditStatus;
      expect(status.quarantined).toEqual([expect.objectContaining({ original: 'audit-0000000000000001.jsonl', line: 11, seq: 10, reason: 'hash_mismatch', records_kept: 9 })]);
      expect(status.problems.join()).toMatch(/quarantined segment .*line 11, hash mismatch/);
      const metrics = await (await server.admin('/metrics')).text();
      expect(metrics).toMatch(/^tollgate_audit_quarantined_segments_total 1$/m);
      expect((await server.admin('/readyz')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
