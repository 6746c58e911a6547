import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { AuditRecorder } from '../../src/audit/recorder.js';
import { EventBus } from '../../src/events/bus.js';
import type { EgressEvent } from '../../src/events/types.js';
import type { AuditStore } from '../../src/store/audit-store.js';
import { event, events, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = () => openAuditStore();

/** A store whose appends fail with ENOSPC while `failing` is true. */
function diskFull(inner: AuditStore): AuditStore & { failing: boolean; attempts: number } {
  const s = {
    failing: true,
    attempts: 0,
    append(batch: readonly EgressEvent[]) {
      s.attempts++;
      if (s.failing) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      return inner.append(batch);
    },
    query: inner.query.bind(inner),
    verify: inner.verify.bind(inner),
    close: inner.close.bind(inner),
  };
  return s;
}

async function allSeqsAndIds(store: AuditStore): Promise<string[]> {
  return (await store.query({ limit: 1000 })).records.map((r) => r.decision_id!).reverse();
}

describe('audit recorder', () => {
  it('writes every event the bus delivers, in order, durable by the time bus.flush() resolves', async () => {
    const store = await openStore();
    const bus = new EventBus({ maxBatch: 16, maxDelayMs: 5 });
    const recorder = new AuditRecorder(store);
    recorder.attach(bus);
    for (const e of events(0, 100)) bus.publish(e);
    await bus.flush();
    expect(await allSeqsAndIds(store)).toEqual(events(0, 100).map((e) => e.decision_id));
    expect(recorder.stats()).toMatchObject({ appended: 100, queued: 0, dropped: 0, failures: 0 });
  });

  it('keeps failed batches while the disk is full and writes them, in order, once it has room', async () => {
    const inner = await openStore();
    const store = diskFull(inner);
    const errors: unknown[] = [];
    const recorder = new AuditRecorder(store, { retryBaseMs: 2, retryMaxMs: 20, onError: (err) => errors.push(err) });
    await recorder.record(events(0, 10));
    await recorder.record(events(10, 10));
    expect(recorder.stats()).toMatchObject({ appended: 0, queued: 20, dropped: 0 });
    await vi.waitFor(() => expect(store.attempts).toBeGreaterThanOrEqual(3));
    store.failing = false;
    await vi.waitFor(() => expect(recorder.stats().queued).toBe(0));
    await recorder.record(events(20, 5));
    expect(await allSeqsAndIds(store)).toEqual(events(0, 25).map((e) => e.decision_id));
    expect(recorder.stats()).toMatchObject({ appended: 25, dropped: 0 });
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect((await store.verify()).ok).toBe(true);
  });

  it('counts and reports the records it must drop when the retry queue is full', async () => {
    const store = diskFull(await openStore());
    const drops: number[] = [];
    const recorder = new AuditRecorder(store, { maxQueuedRecords: 50, retryBaseMs: 1000, onDrop: (n) => drops.push(n) });
    for (let i = 0; i < 80; i += 10) await recorder.record(events(i, 10));
    expect(recorder.stats()).toMatchObject({ queued: 50, dropped: 30 });
    expect(drops).toEqual([10, 10, 10]);
    store.failing = false;
    const final = await recorder.close();
    expect(final).toMatchObject({ appended: 50, queued: 0, dropped: 30 });
    expect(await allSeqsAndIds(store)).toEqual(events(0, 50).map((e) => e.decision_id));
  });

  it('leaves nothing readable from a write that failed half way, and the retried append continues the chain', async () => {
    const store = await openStore();
    await store.append(events(0, 3));
    const fh = (store as unknown as { active: { fh: FileHandle } }).active.fh;
    const write = fh.write.bind(fh) as (buf: Buffer, off: number, len: number, pos: number) => Promise<{ bytesWritten: number }>;
    const spy = vi.spyOn(fh, 'write').mockImplementationOnce((async (buf: Buffer, off: number, len: number, pos: number) => {
      await write(buf, off, Math.floor(len / 2), pos);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }) as unknown as FileHandle['write']);
    await expect(store.append(events(3, 4))).rejects.toThrow(/ENOSPC/);
    expect((await store.query({})).records.map((r) => r.seq)).toEqual([3, 2, 1]);
    spy.mockRestore();
    await store.append([event(3)]);
    expect((await store.query({})).records.map((r) => r.seq)).toEqual([4, 3, 2, 1]);
    expect(await store.verify()).toMatchObject({ ok: true, records: 4 });
  });
});
