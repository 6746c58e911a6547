import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditRecorder } from '../../src/audit/recorder.js';
import { EventBus } from '../../src/events/bus.js';
import type { EgressEvent, ScrubEvent } from '../../src/events/types.js';
import type { AuditStore } from '../../src/store/audit-store.js';
import { event, events, tempDataDir, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = (dataDir = tempDataDir()) => openAuditStore({ dataDir });

/** A scrub result with `n` findings, as a finding flood produces it. */
function flood(n: number, id = 'flood'): ScrubEvent {
  return {
    ...(event(1) as ScrubEvent),
    decision_id: id,
    findings: Array.from({ length: n }, (_, i) => ({ type: i % 3 === 0 ? 'email' : 'credit_card', action: 'redact', where: `json:$.rows[${i}].v`, fingerprint: `fp${i.toString(16).padStart(14, '0')}` })),
  };
}

const lineBytes = (dataDir: string) => readFileSync(join(dataDir, 'audit', 'audit-0000000000000001.jsonl'), 'utf8').trimEnd().split('\n').slice(1).map((l) => Buffer.byteLength(l));

describe('audit record limits', () => {
  it('stores a record with 200,000 findings cut to at most 64 KiB, marked truncated, with what was dropped counted by type', async () => {
    const dataDir = tempDataDir();
    const store = await openStore(dataDir);
    await store.append([event(0), flood(200_000), event(2)]);
    for (const size of lineBytes(dataDir)) expect(size).toBeLessThanOrEqual(64 * 1024);
    const [rec] = (await store.query({ decision_id: 'flood' })).records;
    expect(rec).toMatchObject({ kind: 'scrub', truncated: true, decision_id: 'flood', identity: 'search' });
    const kept = (rec as ScrubEvent).findings.length;
    expect(kept).toBeGreaterThan(100);
    expect(rec!.dropped).toEqual({ findings: 200_000 - kept });
    const byType = rec!.dropped_types!.findings!;
    expect(byType.email! + byType.credit_card!).toBe(200_000 - kept);
    expect(store.status().records_truncated).toBe(1);
    expect(await store.verify()).toMatchObject({ ok: true, records: 3 });
  });

  it('stores a record that cannot be serialized as a small stub and writes the rest of its batch', async () => {
    const store = await openStore();
    const poison = { ...event(3), decision_id: 'poison', latency_us: 10n } as unknown as EgressEvent;
    await store.append([event(0), poison, event(6)]);
    const recs = (await store.query({})).records;
    expect(recs.map((r) => r.decision_id)).toEqual(['dec-6', 'poison', 'dec-0']);
    expect(recs[1]).toMatchObject({ truncated: true, unserializable: expect.stringMatching(/BigInt/) });
    expect(store.status().records_stubbed).toBe(1);
    expect((await store.verify()).ok).toBe(true);
  });

  it('keeps writing later decisions after a poison record: the recorder never retries it forever', async () => {
    const store = await openStore();
    const bus = new EventBus({ maxBatch: 8, maxDelayMs: 2 });
    const recorder = new AuditRecorder(store, { retryBaseMs: 1, retryMaxMs: 5 });
    recorder.attach(bus);
    const cyclic = { ...event(3), decision_id: 'cyclic' } as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    bus.publish(cyclic as unknown as EgressEvent);
    for (const e of events(10, 20)) bus.publish(e);
    await bus.flush();
    const ids = (await store.query({ limit: 100 })).records.map((r) => r.decision_id);
    expect(ids).toHaveLength(21);
    expect(ids.at(-1)).toBe('cyclic');
    expect(recorder.stats()).toMatchObject({ queued: 0, appended: 21, failing: false });
  });

  it('splits a batch the store refuses for a non-I/O reason, drops and reports only the refused record', async () => {
    const inner = await openStore();
    // A store that refuses one particular record the way a serializer would, whatever batch it is in.
    const picky: AuditStore = {
      append: (batch) => (batch.some((e) => e.decision_id === 'dec-13') ? Promise.reject(new RangeError('Invalid string length')) : inner.append(batch)),
      query: (q) => inner.query(q),
      verify: () => inner.verify(),
      close: () => inner.close(),
    };
    const poisoned: string[] = [];
    const recorder = new AuditRecorder(picky, { retryBaseMs: 1000, onPoison: (_err, e) => poisoned.push(e.decision_id!) });
    await recorder.record(events(0, 40));
    await recorder.record(events(40, 5));
    const ids = (await inner.query({ limit: 100 })).records.map((r) => r.decision_id).reverse();
    expect(ids).toEqual(events(0, 45).map((e) => e.decision_id).filter((id) => id !== 'dec-13'));
    expect(poisoned).toEqual(['dec-13']);
    expect(recorder.stats()).toMatchObject({ queued: 0, poisoned: 1, dropped: 1, failing: false });
  });
});
