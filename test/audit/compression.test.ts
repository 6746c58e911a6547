import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { exportAudit } from '../../src/audit/export.js';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { LocalAuditReader } from '../../src/store/redis/audit-local-reader.js';
import { events, tempDataDir, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = (opts: Parameters<typeof EmbeddedAuditStore.open>[0]) => openAuditStore(opts);

const auditFiles = (dataDir: string) => readdirSync(join(dataDir, 'audit')).filter((f) => f.startsWith('audit-')).sort();

/** 300 records in segments of about 8 KiB, every sealed one compressed. */
async function compressedLog(dataDir: string): Promise<EmbeddedAuditStore> {
  const store = await openStore({ dataDir, maxSegmentBytes: 8192 });
  for (let i = 0; i < 300; i += 10) await store.append(events(i, 10));
  await store.maintain();
  return store;
}

async function allSeqs(store: EmbeddedAuditStore, q = {}): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...q, limit: 7, cursor });
    out.push(...page.records.map((r) => r.seq));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

describe('compressed sealed segments', () => {
  it('gzips every sealed segment; queries, cursors, export, the Redis shipper and verify read them as before', async () => {
    const dataDir = tempDataDir();
    const store = await compressedLog(dataDir);
    const files = auditFiles(dataDir);
    const sealed = files.filter((f) => f.endsWith('.jsonl.gz'));
    expect(sealed.length).toBeGreaterThan(3);
    // Only the active segment stays plain; no plain copy of a compressed one is left behind.
    expect(files.filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    const st = store.stats();
    expect(st.compressed_segments).toBe(sealed.length);
    expect(st.compressed_bytes_out * 4).toBeLessThan(st.compressed_bytes_in);
    expect(await allSeqs(store)).toEqual(Array.from({ length: 300 }, (_, i) => 300 - i));
    expect((await allSeqs(store, { identity: 'search' })).length).toBe(100);
    expect((await store.query({ decision_id: 'dec-5' })).records).toEqual([expect.objectContaining({ seq: 6, decision_id: 'dec-5' })]);
    expect(await store.verify()).toMatchObject({ ok: true, records: 300, first_seq: 1, last_seq: 300 });
    let exported = '';
    for await (const line of exportAudit(store.dir)) exported += line;
    expect(exported.trimEnd().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const reader = new LocalAuditReader(store.dir);
    const batch = await reader.read(300, 1000, 1 << 20);
    expect(batch.records.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(batch.gaps).toEqual([]);
    // A restart finds them from the index, and without it.
    await store.close();
    const again = await openStore({ dataDir, maxSegmentBytes: 8192 });
    expect(await allSeqs(again)).toHaveLength(300);
    await again.close();
    writeFileSync(join(dataDir, 'audit', 'index.json'), '');
    const rescanned = await openStore({ dataDir, maxSegmentBytes: 8192 });
    expect(await allSeqs(rescanned)).toHaveLength(300);
    await rescanned.append(events(300, 5));
    expect(await rescanned.verify()).toMatchObject({ ok: true, records: 305 });
  });

  it('detects a record changed inside a compressed segment, and a damaged gzip stream', async () => {
    const dataDir = tempDataDir();
    const store = await compressedLog(dataDir);
    await store.close();
    const dir = join(dataDir, 'audit');
    const target = auditFiles(dataDir).find((f) => f.endsWith('.gz') && !f.includes('0000000000000001'))!;
    const original = readFileSync(join(dir, target));
    // Recompressed with one value changed: a valid gzip file whose record no longer matches its hash.
    const lines = gunzipSync(original).toString('utf8').split('\n');
    lines[3] = lines[3]!.replace('"identity":"', '"identity":"x');
    writeFileSync(join(dir, target), gzipSync(lines.join('\n')));
    const changed = await verifyAuditDir(dir);
    expect(changed.ok).toBe(false);
    expect(changed.broken).toMatchObject({ segment: target, line: 4, reason: 'hash_mismatch' });
    // One flipped byte in the compressed bytes: gzip's CRC (or inflate) fails, named as damage in that segment.
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x20;
    writeFileSync(join(dir, target), flipped);
    const damaged = await verifyAuditDir(dir);
    expect(damaged.ok).toBe(false);
    expect(damaged.broken).toMatchObject({ segment: target, reason: expect.stringMatching(/unparsable|hash_mismatch|seq_mismatch|prev_hash_mismatch/) });
    // The store still opens when it rescans it (no index): the damaged sealed segment is reported and left in place.
    writeFileSync(join(dir, 'index.json'), '');
    const reopened = await openStore({ dataDir, maxSegmentBytes: 8192 });
    expect(reopened.status().damaged).toEqual([expect.objectContaining({ segment: target })]);
    expect(existsSync(join(dir, target))).toBe(true);
  });

  it('finishes or undoes a compression a crash interrupted: a stray .gz.tmp goes, a plain copy beside its .gz goes, nothing is lost', async () => {
    const dataDir = tempDataDir();
    const store = await compressedLog(dataDir);
    await store.close();
    const dir = join(dataDir, 'audit');
    const gz = auditFiles(dataDir).filter((f) => f.endsWith('.gz'));
    // Crash after the rename, before the plain file's removal: both are there.
    const plainTwin = gz[0]!.slice(0, -3);
    writeFileSync(join(dir, plainTwin), gunzipSync(readFileSync(join(dir, gz[0]!))));
    // Crash mid-write: the plain segment intact, half a compressed copy beside it.
    const plainHalf = gz[1]!.slice(0, -3);
    const body = gunzipSync(readFileSync(join(dir, gz[1]!)));
    writeFileSync(join(dir, plainHalf), body);
    writeFileSync(join(dir, `${gz[1]!}.tmp`), gzipSync(body).subarray(0, 40));
    rmSync(join(dir, gz[1]!));
    expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, records: 300 });
    const reopened = await openStore({ dataDir, maxSegmentBytes: 8192 });
    const after = auditFiles(dataDir);
    expect(after).not.toContain(plainTwin);
    expect(after.some((f) => f.endsWith('.tmp'))).toBe(false);
    await reopened.maintain();
    expect(auditFiles(dataDir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    expect(await allSeqs(reopened)).toEqual(Array.from({ length: 300 }, (_, i) => 300 - i));
    expect(await reopened.verify()).toMatchObject({ ok: true, records: 300 });
  });
});

describe('size retention', () => {
  it('removes the oldest segments first when the log passes its size cap, says so, and verify reports where the chain now starts', async () => {
    const dataDir = tempDataDir();
    const warnings: string[] = [];
    const store = await openStore({ dataDir, maxSegmentBytes: 4096, maxTotalBytes: 12_000, compressSealed: false, onWarn: (m) => warnings.push(m) });
    for (let i = 0; i < 200; i += 5) await store.append(events(i, 5));
    await store.maintain();
    const status = store.status();
    expect(status.retention_removed!.size.segments).toBeGreaterThan(0);
    expect(status.retention_removed!.age.segments).toBe(0);
    const first = status.first_seq!;
    expect(first).toBeGreaterThan(1);
    expect(status.retention_removed!.size.records).toBe(first - 1);
    expect(warnings.join('\n')).toMatch(new RegExp(`size cap 12000 bytes reached: removing .*the chain now starts at seq ${first}`));
    const onDisk = auditFiles(dataDir).reduce((n, f) => n + statSync(join(dataDir, 'audit', f)).size, 0);
    expect(status.disk_bytes).toBe(onDisk);
    // Oldest first: what is left is one unbroken run up to the newest record.
    expect(await allSeqs(store)).toEqual(Array.from({ length: 200 - first + 1 }, (_, i) => 200 - i));
    const report = await store.verify();
    expect(report).toMatchObject({ ok: true, first_seq: first, last_seq: 200 });
    expect(report.notes.join()).toMatch(new RegExp(`chain starts at seq ${first}`));
  });

  it('counts compressed segments at their size on disk, so a compressed log keeps far more records under the same cap', async () => {
    const plainDir = tempDataDir();
    const gzDir = tempDataDir();
    const plain = await openStore({ dataDir: plainDir, maxSegmentBytes: 4096, maxTotalBytes: 16_000, compressSealed: false });
    const gz = await openStore({ dataDir: gzDir, maxSegmentBytes: 4096, maxTotalBytes: 16_000 });
    for (const s of [plain, gz]) {
      for (let i = 0; i < 400; i += 5) {
        await s.append(events(i, 5));
        // Compression runs in the background; let each rotation's finish before the next append.
        await s.maintain();
      }
    }
    expect(gz.status().first_seq!).toBeLessThan(plain.status().first_seq!);
    expect(400 - gz.status().first_seq!).toBeGreaterThan(2 * (400 - plain.status().first_seq!));
    expect((await gz.verify()).ok).toBe(true);
  });
});
