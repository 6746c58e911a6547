import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { auditRoutes } from '../../src/admin/routes/audit.js';
import { canonicalJson, hashCanonical } from '../../src/audit/chain.js';
import { exportAudit } from '../../src/audit/export.js';
import { verifyAuditDir } from '../../src/audit/verify.js';
import type { ScrubEvent } from '../../src/events/types.js';
import type { AuditQuery, AuditQueryOptions, AuditStore } from '../../src/store/audit-store.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { event, events, tempDataDir, auditStores } from './fixtures.js';

const openAuditStore = auditStores();
const openStore = (dataDir = tempDataDir()) => openAuditStore({ dataDir });

/** A log of `n` records, big enough that a query matching nothing reads for a while. */
async function bigLog(n: number): Promise<EmbeddedAuditStore> {
  const store = await openStore();
  for (let i = 0; i < n; i += 2000) await store.append(events(i, Math.min(2000, n - i)));
  return store;
}

/** The store as the admin API sees it, recording the abort signal each query is given. */
function watchingSignals(store: AuditStore, seen: AbortSignal[]): AuditStore {
  return {
    append: (b) => store.append(b),
    query: (q: AuditQuery, o?: AuditQueryOptions) => {
      if (o?.signal) seen.push(o.signal);
      return store.query(q, o);
    },
    verify: () => store.verify(),
    close: () => store.close(),
  };
}

describe('audit queries under hostile volume', () => {
  it('returns a record stored before the size cap (3 MB) as a stub, verify checks its hash without holding it, export copies it byte for byte', async () => {
    const dataDir = tempDataDir();
    const first = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
    await first.append(events(0, 3));
    const [last] = (await first.query({ limit: 1 })).records;
    await first.close();
    // Written the way the store wrote records before the cap: whole, chained.
    const huge: ScrubEvent = {
      ...(event(4) as ScrubEvent),
      decision_id: 'huge',
      findings: Array.from({ length: 30_000 }, (_, i) => ({ type: 'email', action: 'redact', where: `json:$.rows[${i}].email`, fingerprint: `fp-${i}` })),
    };
    const canonical = canonicalJson({ ...huge, seq: 4, prev_hash: last!.hash });
    const hash = hashCanonical(last!.hash, canonical);
    appendFileSync(join(dataDir, 'audit', 'audit-0000000000000001.jsonl'), `${canonical.slice(0, -1)},"hash":"${hash}"}\n`);

    const store = await openStore(dataDir);
    expect(store.recovery).toEqual([]);
    await store.append(events(10, 2));
    const recs = (await store.query({})).records;
    expect(recs.map((r) => r.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(recs[2]).toMatchObject({ seq: 4, decision_id: 'huge', identity: huge.identity, hash, truncated: true, omitted: { findings: expect.any(Number) } });
    expect(recs[2]!.stored_bytes).toBeGreaterThan(2_000_000);
    expect(await verifyAuditDir(join(dataDir, 'audit'))).toMatchObject({ ok: true, records: 6 });
    expect((await store.query({ decision_id: 'huge' })).records.map((r) => r.seq)).toEqual([4]);
    let exported = '';
    for await (const piece of exportAudit(join(dataDir, 'audit'), { oversized: true })) exported += piece;
    expect(exported).toBe(readFileSync(join(dataDir, 'audit', 'audit-0000000000000001.jsonl'), 'utf8').split('\n').slice(1).join('\n'));
  });

  it('names a modified oversized record when verifying', async () => {
    const dataDir = tempDataDir();
    const first = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
    await first.append(events(0, 1));
    const [last] = (await first.query({ limit: 1 })).records;
    await first.close();
    const huge = { ...(event(4) as ScrubEvent), findings: Array.from({ length: 30_000 }, (_, i) => ({ type: 'email', action: 'redact', where: `json:$[${i}]`, fingerprint: `fp-${i}` })) };
    const canonical = canonicalJson({ ...huge, seq: 2, prev_hash: last!.hash });
    const hash = hashCanonical(last!.hash, canonical);
    appendFileSync(join(dataDir, 'audit', 'audit-0000000000000001.jsonl'), `${canonical.slice(0, -1).replace('fp-20000', 'fp-20001')},"hash":"${hash}"}\n`);
    const report = await verifyAuditDir(join(dataDir, 'audit'));
    expect(report.broken).toMatchObject({ line: 3, seq: 2, reason: 'hash_mismatch' });
  });

  it('stops a running query when its signal aborts', async () => {
    const store = await bigLog(10_000);
    const stop = new AbortController();
    const running = store.query({ identity: 'nobody', limit: 10 }, { signal: stop.signal });
    setImmediate(() => stop.abort(new Error('client went away')));
    await expect(running).rejects.toThrow('client went away');
  });

  it('cancels running queries when the store closes, so shutdown does not wait for them', async () => {
    const store = await bigLog(10_000);
    const running = store.query({ identity: 'nobody', limit: 10 });
    const outcome = running.then(
      () => 'finished',
      (err: Error) => err.name,
    );
    await new Promise((r) => setImmediate(r));
    await store.close();
    expect(await outcome).toBe('AbortError');
  });

  it('GET /v1/audit stops reading when the client disconnects', async () => {
    const store = await bigLog(10_000);
    const seen: AbortSignal[] = [];
    const watched = watchingSignals(store, seen);
    const app = Fastify();
    auditRoutes(app, watched);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const client = new AbortController();
      const req = fetch(`http://127.0.0.1:${port}/v1/audit?identity=nobody`, { signal: client.signal }).catch((err: Error) => err.name);
      for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      client.abort();
      expect(await req).toBe('AbortError');
      for (let i = 0; i < 400 && !seen[0]?.aborted; i++) await new Promise((r) => setTimeout(r, 5));
      expect(seen[0]?.aborted).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('closing the admin API stops a long GET /v1/audit instead of waiting for it', async () => {
    const store = await bigLog(10_000);
    const seen: AbortSignal[] = [];
    const watched = watchingSignals(store, seen);
    const app = Fastify();
    auditRoutes(app, watched);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const res = fetch(`http://127.0.0.1:${port}/v1/audit?identity=nobody`);
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const closed = app.close();
    const r = await res;
    await closed;
    expect(seen[0]?.aborted).toBe(true);
    expect(r.status).toBe(503);
  });
});
