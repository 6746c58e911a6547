import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore, type EmbeddedAuditOptions } from '../../src/store/embedded/audit-segments.js';
import { events, tempDataDir, timeOf, auditStores } from './fixtures.js';

const openAuditStore = auditStores({ compressSealed: false });
const openStore = (opts: EmbeddedAuditOptions) => openAuditStore(opts);

// Sealed segments are gzipped in the background: named here by their plain name either way.
const segmentsIn = (dataDir: string) => readdirSync(join(dataDir, 'audit')).filter((f) => /\.jsonl(\.gz)?$/.test(f)).map((f) => f.replace(/\.gz$/, '')).sort();

async function allSeqs(store: EmbeddedAuditStore, q = {}): Promise<number[]> {
  const out: AuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...q, limit: 9, cursor });
    out.push(...page.records);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out.map((r) => r.seq);
}

describe('audit segments', () => {
  it('rotates by size into several segments, and queries and cursors span them', async () => {
    const dataDir = tempDataDir();
    const store = await openStore({ dataDir, maxSegmentBytes: 4096 });
    for (let i = 0; i < 100; i += 5) await store.append(events(i, 5));
    const files = segmentsIn(dataDir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files.slice(0, -1)) expect(statSync(join(dataDir, 'audit', f)).size).toBeLessThan(4096 + 5 * 600);
    expect(await allSeqs(store)).toEqual(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(await allSeqs(store, { since: timeOf(40), until: timeOf(60), identity: 'web' })).toEqual(
      Array.from({ length: 20 }, (_, k) => 59 - k).filter((i) => i % 3 === 2).map((i) => i + 1),
    );
    expect((await store.verify()).ok).toBe(true);
  });

  it('names segments by their first seq and links each header to the previous segment', async () => {
    const dataDir = tempDataDir();
    const store = await openStore({ dataDir, maxSegmentBytes: 2048 });
    for (let i = 0; i < 30; i += 3) await store.append(events(i, 3));
    const files = segmentsIn(dataDir);
    expect(files[0]).toBe('audit-0000000000000001.jsonl');
    const header = JSON.parse(readFileSync(join(dataDir, 'audit', files[1]!), 'utf8').split('\n')[0]!);
    const prevLines = readFileSync(join(dataDir, 'audit', files[0]!), 'utf8').trimEnd().split('\n');
    const prevLast = JSON.parse(prevLines.at(-1)!);
    expect(header).toMatchObject({ audit_segment: 1, first_seq: prevLast.seq + 1, prev_segment_hash: prevLast.hash });
  });

  it('rotates a segment once it is older than the age limit', async () => {
    const dataDir = tempDataDir();
    let now = Date.parse('2026-11-25T00:00:00Z');
    const store = await openStore({ dataDir, maxSegmentAgeMs: 3_600_000, now: () => now });
    await store.append(events(0, 3));
    now += 30 * 60_000;
    await store.append(events(3, 3));
    expect(segmentsIn(dataDir)).toHaveLength(1);
    now += 31 * 60_000;
    await store.append(events(6, 3));
    expect(segmentsIn(dataDir)).toEqual(['audit-0000000000000001.jsonl', 'audit-0000000000000007.jsonl']);
    now += 2 * 3_600_000;
    await store.maintain();
    expect(segmentsIn(dataDir)).toEqual(['audit-0000000000000001.jsonl', 'audit-0000000000000007.jsonl', 'audit-0000000000000010.jsonl']);
    expect(await allSeqs(store)).toHaveLength(9);
  });

  it('deletes whole segments older than the retention, keeping the rest verifiable', async () => {
    const dataDir = tempDataDir();
    let now = Date.parse('2026-11-01T00:00:00Z');
    const store = await openStore({ dataDir, maxSegmentAgeMs: 86_400_000, retentionDays: 7, now: () => now });
    for (let day = 0; day < 10; day++) {
      await store.append(events(day * 10, 10));
      now += 86_400_000;
    }
    await store.maintain();
    // The segment of day d is sealed on day d + 1; on day 10 a 7-day retention removes those sealed before day 3 (days 0 and 1).
    const files = segmentsIn(dataDir);
    expect(files[0]).toBe('audit-0000000000000021.jsonl');
    expect(await allSeqs(store)).toEqual(Array.from({ length: 80 }, (_, i) => 100 - i));
    const report = await store.verify();
    expect(report).toMatchObject({ ok: true, first_seq: 21, last_seq: 100, records: 80 });
    expect(report.notes.join()).toMatch(/starts at seq 21/);
  });

  it('deletes the oldest segments while the log exceeds its size limit', async () => {
    const dataDir = tempDataDir();
    const store = await openStore({ dataDir, maxSegmentBytes: 4096, maxTotalBytes: 16_384 });
    for (let i = 0; i < 200; i += 5) await store.append(events(i, 5));
    const total = segmentsIn(dataDir).reduce((n, f) => n + statSync(join(dataDir, 'audit', f)).size, 0);
    // The active segment may pass its size limit by one group commit (here 5 records).
    expect(total).toBeLessThanOrEqual(16_384 + 5 * 600);
    const seqs = await allSeqs(store);
    expect(seqs[0]).toBe(200);
    expect(seqs.length).toBeLessThan(200);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 200 - i));
    expect((await store.verify()).ok).toBe(true);
  });

  it('keeps the segment index across a restart, and rebuilds it when it is lost', async () => {
    const dataDir = tempDataDir();
    const store = await openStore({ dataDir, maxSegmentBytes: 4096 });
    for (let i = 0; i < 60; i += 5) await store.append(events(i, 5));
    await store.close();
    const index = JSON.parse(readFileSync(join(dataDir, 'audit', 'index.json'), 'utf8'));
    expect(index.segments.length).toBe(segmentsIn(dataDir).length - 1);
    expect(index.segments[0]).toMatchObject({ file: 'audit-0000000000000001.jsonl', first_seq: 1, min_time: timeOf(0) });
    const { rmSync } = await import('node:fs');
    rmSync(join(dataDir, 'audit', 'index.json'));
    const reopened = await openStore({ dataDir, maxSegmentBytes: 4096 });
    expect(await allSeqs(reopened, { since: timeOf(50) })).toEqual([60, 59, 58, 57, 56, 55, 54, 53, 52, 51]);
  });
});
