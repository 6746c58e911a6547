import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '../../src/events/types.js';
import { event, events, tempDataDir, auditStores } from './fixtures.js';

// A fixed clock: both stores write the same segment header, so their files can be compared byte for byte.
const openAuditStore = auditStores({ now: () => Date.parse('2026-11-25T00:00:00Z') });
const openStore = (dataDir: string, encodeInWorker: boolean) => openAuditStore({ dataDir, encodeInWorker });

describe('audit encoder worker', () => {
  it('writes byte for byte what in-thread encoding writes, and the log verifies', async () => {
    const worker = await openStore(tempDataDir(), true);
    const inline = await openStore(tempDataDir(), false);
    expect(await worker.encoderReady()).toBe(true);
    expect(await inline.encoderReady()).toBe(false);
    const huge: EgressEvent = { ...event(7), kind: 'scrub', outcome: 'scrubbed', findings: Array.from({ length: 1200 }, (_, i) => ({ type: 'email', action: 'redact', where: `json:$.a[${i}]`, fingerprint: `fp-${i}` })), bytes_scanned: 1, body_mode: 'buffered' } as EgressEvent;
    for (const s of [worker, inline]) {
      await s.append(events(0, 300));
      await s.append([huge, ...events(300, 10)]);
      await s.append(events(310, 1000));
    }
    expect(worker.stats().encoder.worker_groups).toBeGreaterThan(0);
    expect(worker.stats().encoder.inline_groups).toBe(0);
    expect(worker.stats().records_truncated).toBe(1);
    const file = 'audit/audit-0000000000000001.jsonl';
    const [a, b] = [readFileSync(join(worker.dir, '..', file)), readFileSync(join(inline.dir, '..', file))];
    expect(a.length).toBeGreaterThan(400_000);
    expect(a.equals(b)).toBe(true);
    const report = await worker.verify();
    expect(report).toMatchObject({ ok: true, records: 1311, last_seq: 1311 });
    const page = await worker.query({ limit: 1 });
    expect(page.records[0]).toMatchObject({ seq: 1311, decision_id: 'dec-1309' });
  });

  it('stores an event the worker cannot be handed (a function member) as in-thread encoding does, without losing the group', async () => {
    const store = await openStore(tempDataDir(), true);
    expect(await store.encoderReady()).toBe(true);
    const odd = { ...event(1), extra: () => 1 } as unknown as EgressEvent;
    await store.append([event(0), odd, event(2)]);
    expect(await store.verify()).toMatchObject({ ok: true, records: 3 });
    const { records } = await store.query({});
    expect(records.map((r) => r.decision_id)).toEqual(['dec-2', 'dec-1', 'dec-0']);
    expect(store.stats().encoder.inline_groups).toBe(1);
  });
});
