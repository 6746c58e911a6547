import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { events, tempDataDir, auditStores } from './fixtures.js';

const openAuditStore = auditStores({ compressSealed: false });
const openStore = (dataDir: string, maxSegmentBytes?: number) => openAuditStore({ dataDir, maxSegmentBytes });

/** A closed store with 60 records in several segments; returns the data dir and the audit dir. */
async function writtenLog(): Promise<{ dataDir: string; dir: string; files: string[] }> {
  const dataDir = tempDataDir();
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0, maxSegmentBytes: 6000, compressSealed: false });
  for (let i = 0; i < 60; i += 6) await store.append(events(i, 6));
  await store.close();
  const dir = join(dataDir, 'audit');
  return { dataDir, dir, files: readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort() };
}

/** Replaces one byte of line `line` (1-based) of a file, at the position `find` picks. */
function setByte(path: string, line: number, find: (text: string) => number, to: string): void {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const at = find(lines[line - 1]!);
  lines[line - 1] = lines[line - 1]!.slice(0, at) + to + lines[line - 1]!.slice(at + 1);
  writeFileSync(path, lines.join('\n'));
}

describe('audit verify and recovery', () => {
  it('verifies an intact log: every record, across segments', async () => {
    const { dir, files } = await writtenLog();
    expect(files.length).toBeGreaterThan(3);
    expect(await verifyAuditDir(dir)).toEqual({ ok: true, segments: files.length, records: 60, first_seq: 1, last_seq: 60, notes: [] });
  });

  it.each([
    ['a value is changed', (l: string) => l.indexOf('"identity":"') + 12, 'hash_mismatch'],
    ['the stored hash is changed', (l: string) => l.indexOf('"hash":"') + 8, 'hash_mismatch'],
    ['the prev_hash is changed', (l: string) => l.indexOf('"prev_hash":"') + 13, 'prev_hash_mismatch'],
    ['the JSON is broken', (l: string) => l.indexOf('"identity"'), 'unparsable'],
  ] as const)('names the flipped record when one byte in a middle record changes (%s)', async (_what, find, reason) => {
    const { dir, files } = await writtenLog();
    const segment = files[2]!;
    const lines = readFileSync(join(dir, segment), 'utf8').trimEnd().split('\n');
    const line = Math.ceil(lines.length / 2);
    const seq = (JSON.parse(lines[line - 1]!) as { seq: number }).seq;
    setByte(join(dir, segment), line, find, 'x');
    const report = await verifyAuditDir(dir);
    expect(report.ok).toBe(false);
    expect(report.broken).toMatchObject({ segment, line, seq, reason });
  });

  it('names the segment after a removed middle segment', async () => {
    const { dir, files } = await writtenLog();
    rmSync(join(dir, files[1]!));
    const report = await verifyAuditDir(dir);
    expect(report.broken).toMatchObject({ segment: files[2], line: 1, reason: 'seq_mismatch' });
  });

  it('cuts off a torn last line after a crash and continues the chain from the last good record', async () => {
    const { dataDir, dir, files } = await writtenLog();
    const last = join(dir, files.at(-1)!);
    const intact = readFileSync(last, 'utf8');
    appendFileSync(last, '{"seq":61,"time":"2026-11-25T12:01:01.000Z","kind":"deci');
    const before = await verifyAuditDir(dir);
    expect(before.ok).toBe(true);
    expect(before.notes.join()).toMatch(/incomplete line/);

    const store = await openStore(dataDir);
    expect(store.recovery).toEqual([{ segment: files.at(-1), action: 'truncated_torn_tail', bytes: 56, lines: 1 }]);
    expect(readFileSync(last, 'utf8')).toBe(intact);
    await store.append(events(60, 5));
    expect((await store.query({ limit: 10 })).records.map((r) => r.seq)).toEqual([65, 64, 63, 62, 61, 60, 59, 58, 57, 56]);
    expect(await store.verify()).toMatchObject({ ok: true, records: 65, notes: [] });
  });

  it('cuts off zero-filled garbage that a crash left after the last record', async () => {
    const { dataDir, dir, files } = await writtenLog();
    appendFileSync(join(dir, files.at(-1)!), Buffer.alloc(300));
    const store = await openStore(dataDir);
    expect(store.recovery[0]).toMatchObject({ action: 'truncated_torn_tail', bytes: 300 });
    await store.append(events(60, 1));
    expect(await store.verify()).toMatchObject({ ok: true, records: 61 });
  });

  it('keeps a last record that was written whole but lost only its newline', async () => {
    const { dataDir, dir, files } = await writtenLog();
    const last = join(dir, files.at(-1)!);
    writeFileSync(last, readFileSync(last, 'utf8').slice(0, -1));
    const store = await openStore(dataDir);
    expect(store.recovery).toEqual([{ segment: files.at(-1), action: 'completed_last_line', bytes: 1, lines: 0 }]);
    await store.append(events(60, 1));
    expect(await store.verify()).toMatchObject({ ok: true, records: 61 });
  });

  it('removes a new segment whose header was torn, and continues in the previous one', async () => {
    const { dataDir, dir } = await writtenLog();
    writeFileSync(join(dir, 'audit-0000000000000061.jsonl'), '{"audit_segment":1,"first_');
    const store = await openStore(dataDir);
    expect(store.recovery[0]).toMatchObject({ segment: 'audit-0000000000000061.jsonl', action: 'removed_torn_segment' });
    await store.append(events(60, 2));
    expect(await store.verify()).toMatchObject({ ok: true, records: 62, last_seq: 62 });
  });
});
