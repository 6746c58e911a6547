import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/events/types.js';
import type { AuditQuery, AuditRecord } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { event, events, tempDataDir, timeOf, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = (dataDir: string, opts: Partial<Parameters<typeof EmbeddedAuditStore.open>[0]> = {}) => openAuditStore({ dataDir, ...opts });

async function all(store: EmbeddedAuditStore, q: AuditQuery = {}): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...q, limit: q.limit ?? 1000, cursor });
    out.push(...page.records);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

describe('audit store', () => {
  it('returns appended records newest first, and each filter selects exactly the matching records', async () => {
    const store = await openStore(tempDataDir());
    const input = events(0, 60);
    await store.append(input.slice(0, 25));
    await store.append(input.slice(25));
    const expectSeqs = async (q: AuditQuery, keep: (e: EgressEvent, i: number) => boolean) => {
      const want = input.map((e, i) => ({ e, seq: i + 1, i })).filter(({ e, i }) => keep(e, i)).map((x) => x.seq).reverse();
      expect(want.length, JSON.stringify(q)).toBeGreaterThan(0);
      expect((await all(store, q)).map((r) => r.seq), JSON.stringify(q)).toEqual(want);
    };
    await expectSeqs({}, () => true);
    await expectSeqs({ since: timeOf(10), until: timeOf(20) }, (_e, i) => i >= 10 && i < 20);
    await expectSeqs({ identity: 'search' }, (e) => e.identity === 'search');
    await expectSeqs({ destination: 'api.github.com:443' }, (e) => e.destination === 'api.github.com:443');
    await expectSeqs({ destination: 'api.github.com' }, (e) => e.destination === 'api.github.com:443');
    await expectSeqs({ verdict: 'deny' }, (e) => e.kind === 'decision' && e.verdict === 'deny');
    await expectSeqs({ finding_type: 'github_token' }, (e) => e.kind === 'scrub' && e.findings.some((f) => f.type === 'github_token'));
    await expectSeqs({ decision_id: 'dec-42' }, (e) => e.decision_id === 'dec-42');
    await expectSeqs({ kind: 'access' }, (e) => e.kind === 'access');
    await expectSeqs({ kind: 'decision', identity: 'billing', since: timeOf(30) }, (e, i) => e.kind === 'decision' && e.identity === 'billing' && i >= 30);
    expect(await all(store, { identity: 'nobody' })).toEqual([]);
  });

  it('pages through every record newest first with the cursor, ending with a null cursor', async () => {
    const store = await openStore(tempDataDir());
    await store.append(events(0, 50));
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.query({ limit: 7, cursor });
      expect(page.records.length).toBeLessThanOrEqual(7);
      seen.push(...page.records.map((r) => r.seq));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(8);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => 50 - i));
    await expect(store.query({ cursor: 'not-a-cursor' })).rejects.toThrow(/invalid cursor/);
  });

  it('pages through a segment larger than the read chunk without losing or repeating a record', async () => {
    const store = await openStore(tempDataDir());
    await store.append(events(0, 3000));
    expect(store.stats().bytes).toBeGreaterThan(4 * 256 * 1024);
    const seqs: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.query({ limit: 333, cursor });
      seqs.push(...page.records.map((r) => r.seq));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => 3000 - i));
  });

  it('stores each event whole, with seq, prev_hash and hash, and no other field', async () => {
    const store = await openStore(tempDataDir());
    await store.append([event(1)]);
    const [r] = (await store.query({})).records;
    const { seq, prev_hash, hash, ...rest } = r!;
    expect(seq).toBe(1);
    expect(prev_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rest).toEqual(event(1));
  });

  it('makes a record readable only once its append has resolved (after the fsync)', async () => {
    const store = await openStore(tempDataDir());
    const pending = store.append(events(0, 3));
    const before = store.query({});
    await pending;
    expect((await before).records).toHaveLength(0);
    expect((await store.query({})).records).toHaveLength(3);
  });

  it('continues seq and the hash chain after a restart, losing nothing acknowledged', async () => {
    const dataDir = tempDataDir();
    const first = await openStore(dataDir);
    await first.append(events(0, 10));
    await first.close();
    const second = await openStore(dataDir);
    expect(second.recovery).toEqual([]);
    await second.append(events(10, 5));
    const records = await all(second);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 15 - i));
    expect(records.map((r) => r.decision_id)).toEqual(Array.from({ length: 15 }, (_, i) => `dec-${14 - i}`));
    expect(await second.verify()).toMatchObject({ ok: true, records: 15, first_seq: 1, last_seq: 15 });
  });

  it('keeps every acknowledged record when the process dies without closing the store', async () => {
    const dataDir = tempDataDir();
    const crashed = await openStore(dataDir);
    await Promise.all([crashed.append(events(0, 100)), crashed.append(events(100, 100))]);
    const restarted = await openStore(dataDir);
    expect((await all(restarted)).length).toBe(200);
    await restarted.append(events(200, 1));
    expect((await restarted.query({ limit: 1 })).records[0]!.seq).toBe(201);
    expect((await restarted.verify()).ok).toBe(true);
  });

  it('shares fsyncs between concurrent appends: 1,000 appends resolve with far fewer fsyncs', async () => {
    const store = await openStore(tempDataDir());
    const fsyncsBefore = store.stats().fsyncs;
    const done = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => store.append([event(i)])));
    expect(done.every((d) => d.status === 'fulfilled')).toBe(true);
    const stats = store.stats();
    expect(stats.records).toBe(1000);
    expect(stats.fsyncs - fsyncsBefore).toBeLessThan(20);
    expect((await all(store)).map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 - i));
    expect((await store.verify()).ok).toBe(true);
  });

  it('keeps sharing fsyncs under a steady stream of appends that arrive while an fsync runs', async () => {
    const store = await openStore(tempDataDir());
    const fsyncsBefore = store.stats().fsyncs;
    const writers = Array.from({ length: 50 }, async (_, w) => {
      for (let k = 0; k < 20; k++) await store.append([event(w * 20 + k)]);
    });
    await Promise.all(writers);
    expect(store.stats().records).toBe(1000);
    expect(store.stats().fsyncs - fsyncsBefore).toBeLessThan(200);
    expect((await store.verify()).ok).toBe(true);
  });

  it('rejects appends after close', async () => {
    const dataDir = tempDataDir();
    const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
    const last = store.append(events(0, 5));
    await store.close();
    await expect(last).resolves.toBeUndefined();
    await expect(store.append(events(5, 1))).rejects.toThrow(/closed/);
    expect(readdirSync(`${dataDir}/audit`)).toContain('audit-0000000000000001.jsonl');
  });
});
