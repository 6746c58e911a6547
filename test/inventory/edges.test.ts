import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { Inventory } from '../../src/inventory/index.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { access, at, decision, request } from './events.js';

function memoryInventory(maxEdges?: number) {
  const store = new EmbeddedInventoryStore({ maxRecords: maxEdges ? { edges: maxEdges } : {} });
  return { store, inventory: new Inventory({ store }) };
}

describe('inventory edges', () => {
  it('counts a request once although its decision and access log arrive as separate events', async () => {
    const { inventory } = memoryInventory();
    const bus = new EventBus({ maxDelayMs: 1 });
    inventory.attach(bus);
    for (const e of [...request({ sent: 100, received: 2000, latency: 12 }), ...request({ sent: 50, received: 10, latency: 30, status: 404 })]) bus.publish(e);
    await bus.flush();
    const { items } = await inventory.destinations();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      identity: 'billing',
      destination: 'api.stripe.com:443',
      host: 'api.stripe.com',
      port: 443,
      method: 'GET',
      path_template: '/v1/customers/{id}',
      requests: 2,
      decisions: { allow: 2, deny: 0, report_deny: 0 },
      status: { '2xx': 1, '4xx': 1 },
      bytes_sent: 150,
      bytes_received: 2010,
    });
  });

  it('puts the access log on its decision’s edge even when the access log names the caller differently', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest([decision({ request_id: 'r1' })]);
    await inventory.ingest([access({ request_id: 'r1', identity: 'unknown', status: 503 })]);
    const { items } = await inventory.destinations();
    expect(items).toHaveLength(1);
    expect(items[0]!.status['5xx']).toBe(1);
  });

  it('counts decisions by verdict and responses by status class', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest([
      ...request({ verdict: 'allow', status: 201 }),
      ...request({ verdict: 'report_deny', status: 302 }),
      ...request({ verdict: 'deny', status: 403 }),
      ...request({ verdict: 'allow', status: 500 }),
      ...request({ verdict: 'allow', status: 0 }),
    ]);
    const [edge] = (await inventory.destinations()).items;
    expect(edge!.decisions).toEqual({ allow: 3, deny: 1, report_deny: 1 });
    expect(edge!.status).toEqual({ '1xx': 0, '2xx': 1, '3xx': 1, '4xx': 1, '5xx': 1, no_response: 1 });
  });

  it('reports upstream latency p50 and p99 within 2% of the exact values', async () => {
    const { inventory } = memoryInventory();
    const latencies = Array.from({ length: 5000 }, (_, i) => 5 + ((i * 7919) % 5000) / 10);
    await inventory.ingest(latencies.flatMap((latency) => request({ latency })));
    const [edge] = (await inventory.destinations()).items;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(0.5 * (sorted.length - 1))]!;
    const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))]!;
    expect(Math.abs(edge!.upstream_latency_ms!.p50 - p50) / p50).toBeLessThanOrEqual(0.02);
    expect(Math.abs(edge!.upstream_latency_ms!.p99 - p99) / p99).toBeLessThanOrEqual(0.02);
    expect(edge!.upstream_latency_ms!.samples).toBe(5000);
  });

  it('tracks first and last seen even when events arrive out of order', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest([decision({ time: at(50) }), decision({ time: at(10) })]);
    await inventory.ingest([decision({ time: at(30) })]);
    const [edge] = (await inventory.destinations()).items;
    expect(edge!.first_seen).toBe(at(10));
    expect(edge!.last_seen).toBe(at(50));
  });

  it('filters destinations by identity, host and since, and sorts by count or bytes', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest([
      ...request({ identity: 'billing', destination: 'api.stripe.com:443', time: at(10), received: 10 }),
      ...request({ identity: 'billing', destination: 'files.stripe.com:443', time: at(20), received: 5000 }),
      ...request({ identity: 'billing', destination: 'files.stripe.com:443', time: at(20) }),
      ...request({ identity: 'ci', destination: 'api.github.com:443', time: at(30), received: 100 }),
    ]);
    const hosts = async (q: Parameters<Inventory['destinations']>[0]) => (await inventory.destinations(q)).items.map((e) => `${e.identity}>${e.host}`);
    expect(await hosts({ identity: 'ci' })).toEqual(['ci>api.github.com']);
    expect(await hosts({ host: '*.stripe.com' })).toEqual(['billing>files.stripe.com', 'billing>api.stripe.com']);
    expect(await hosts({ host: 'api.stripe.com' })).toEqual(['billing>api.stripe.com']);
    expect(await hosts({ since: Date.parse(at(15)) })).toEqual(['ci>api.github.com', 'billing>files.stripe.com']);
    expect(await hosts({ sort: 'count' })).toEqual(['billing>files.stripe.com', 'billing>api.stripe.com', 'ci>api.github.com']);
    expect(await hosts({ sort: 'bytes' })).toEqual(['billing>files.stripe.com', 'ci>api.github.com', 'billing>api.stripe.com']);
  });

  it('pages with cursors without repeating or skipping an edge, also while new edges arrive', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest(Array.from({ length: 250 }, (_, i) => decision({ path_template: `/p/${i}`, time: at(i % 7) })));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await inventory.destinations({ limit: 40, cursor });
      seen.push(...page.items.map((e) => e.path_template));
      cursor = page.next_cursor ?? undefined;
      // Traffic to other edges keeps arriving between pages; it sorts before the cursor, so the walk is unaffected.
      if (pages++ === 2) await inventory.ingest([decision({ path_template: '/later', time: at(100) })]);
    } while (cursor);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(pages).toBe(7);
  });

  it('rejects a cursor made for a different sort', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest(Array.from({ length: 3 }, (_, i) => decision({ path_template: `/p/${i}` })));
    const page = await inventory.destinations({ limit: 1 });
    await expect(inventory.destinations({ sort: 'count', cursor: page.next_cursor! })).rejects.toThrow(/sort=last_seen/);
  });

  it('stays within its edge limit by evicting the least recently seen edges', async () => {
    const { inventory, store } = memoryInventory(100);
    await inventory.ingest(Array.from({ length: 100 }, (_, i) => decision({ path_template: `/p/${i}` })));
    await inventory.ingest([decision({ path_template: '/p/0' })]);
    await inventory.ingest(Array.from({ length: 10 }, (_, i) => decision({ path_template: `/new/${i}` })));
    expect(await store.size('edges')).toBe(100);
    expect(store.evictions('edges')).toBe(10);
    const paths = new Set((await inventory.destinations({ limit: 1000 })).items.map((e) => e.path_template));
    expect(paths.has('/p/0')).toBe(true);
    expect(paths.has('/p/1')).toBe(false);
    expect(paths.has('/p/10')).toBe(false);
    expect(paths.has('/p/11')).toBe(true);
    expect(paths.has('/new/9')).toBe(true);
  });

  it('survives a restart: the snapshot in the data directory is loaded on start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-inventory-'));
    const first = await EmbeddedInventoryStore.open({ dataDir, snapshotIntervalMs: 0 });
    const before = new Inventory({ store: first });
    await before.ingest(Array.from({ length: 100 }, (_, i) => request({ latency: 10 + i, received: 1 })).flat());
    const expected = (await before.destinations()).items;
    await first.close();

    const second = await EmbeddedInventoryStore.open({ dataDir, snapshotIntervalMs: 0 });
    const after = new Inventory({ store: second });
    expect((await after.destinations()).items).toEqual(expected);
    await after.ingest(request({ latency: 500 }));
    const [edge] = (await after.destinations()).items;
    expect(edge!.requests).toBe(101);
    expect(edge!.upstream_latency_ms!.samples).toBe(101);
    await second.close();
  });

  it('builds a graph of identities and destinations with aggregated edges', async () => {
    const { inventory } = memoryInventory();
    await inventory.ingest([
      ...request({ identity: 'billing', destination: 'api.stripe.com:443', path_template: '/a', received: 10 }),
      ...request({ identity: 'billing', destination: 'api.stripe.com:443', path_template: '/b', verdict: 'deny' }),
      ...request({ identity: 'ci', destination: 'api.github.com:443' }),
    ]);
    const graph = await inventory.graph();
    expect(graph.nodes.map((n) => n.id)).toEqual(['destination:api.github.com:443', 'destination:api.stripe.com:443', 'identity:billing', 'identity:ci']);
    expect(graph.edges[0]).toMatchObject({ source: 'identity:billing', target: 'destination:api.stripe.com:443', requests: 2, allow: 1, deny: 1, bytes: 10 });
    expect(graph.truncated).toBe(false);
    expect((await inventory.graph({ limit: 1 })).truncated).toBe(true);
  });
});
