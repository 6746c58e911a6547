import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { inventoryRoutes } from '../../src/admin/routes/inventory.js';
import { Inventory } from '../../src/inventory/index.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { request, scrub } from './events.js';

async function app() {
  const inventory = new Inventory({ store: new EmbeddedInventoryStore() });
  const now = new Date().toISOString();
  await inventory.ingest([
    ...request({ identity: 'billing', destination: 'api.stripe.com:443', time: now, received: 300, latency: 40 }),
    ...request({ identity: 'billing', destination: 'files.stripe.com:443', time: now }),
    ...request({ identity: 'ci', destination: 'api.github.com:443', time: now, verdict: 'deny', status: 403 }),
    scrub({ identity: 'ci', destination: 'pastebin.com:443', time: now, findings: [{ type: 'github_token', fingerprint: 'gh', where: 'json:$.token' }, { type: 'email' }] }),
  ]);
  const server = Fastify();
  inventoryRoutes(server, inventory);
  return server;
}

describe('inventory API', () => {
  it('GET /v1/inventory/destinations filters by identity and pages with a cursor', async () => {
    const server = await app();
    const first = await server.inject({ url: '/v1/inventory/destinations?identity=billing&limit=1&since=1h' });
    expect(first.statusCode).toBe(200);
    const body = first.json<{ items: Array<{ host: string }>; next_cursor: string; total: number }>();
    expect(body.total).toBe(2);
    const second = await server.inject({ url: `/v1/inventory/destinations?identity=billing&limit=1&since=1h&cursor=${body.next_cursor}` });
    const next = second.json<{ items: Array<{ host: string }>; next_cursor: string | null }>();
    expect([body.items[0]!.host, next.items[0]!.host].sort()).toEqual(['api.stripe.com', 'files.stripe.com']);
    expect(next.next_cursor).toBeNull();
  });

  it('GET /v1/inventory/destinations answers 400 with a clear message for a bad query', async () => {
    const server = await app();
    const bad = await server.inject({ url: '/v1/inventory/destinations?sort=size&limit=0&since=yesterday' });
    expect(bad.statusCode).toBe(400);
    const { message } = bad.json<{ message: string }>();
    expect(message).toContain('sort: Invalid option: expected one of "last_seen"|"count"|"bytes"');
    expect(message).toContain('limit:');
    expect(message).toContain('since: since must be a duration back from now (7d, 24h, 30m, 90s, 2w) or an ISO-8601 time');
    const cursor = await server.inject({ url: '/v1/inventory/destinations?cursor=nonsense' });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json<{ message: string }>().message).toBe('cursor: cursor is not one this API handed out');
    const unknown = await server.inject({ url: '/v1/inventory/destinations?colour=blue' });
    expect(unknown.statusCode).toBe(400);
  });

  it('GET /v1/inventory/graph returns identity and destination nodes with edges', async () => {
    const server = await app();
    const res = await server.inject({ url: '/v1/inventory/graph' });
    const graph = res.json<{ nodes: Array<{ id: string; kind: string }>; edges: Array<{ source: string; target: string; deny: number }> }>();
    expect(graph.nodes.filter((n) => n.kind === 'identity').map((n) => n.id)).toEqual(['identity:billing', 'identity:ci']);
    expect(graph.edges).toHaveLength(3);
    expect(graph.edges.find((e) => e.source === 'identity:ci')).toMatchObject({ target: 'destination:api.github.com:443', deny: 1 });
  });

  it('GET /v1/inventory/tokens lists tokens with their flags and filters by flag', async () => {
    const server = await app();
    const res = await server.inject({ url: '/v1/inventory/tokens?flag=foreign_destination' });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ items: Array<{ fingerprint: string; flags: string[] }> }>().items).toEqual([
      expect.objectContaining({ fingerprint: 'gh', type: 'github_token', flags: ['foreign_destination', 'outside_header'] }),
    ]);
    expect((await server.inject({ url: '/v1/inventory/tokens?flag=sprawl' })).json<{ total: number }>().total).toBe(0);
    expect((await server.inject({ url: '/v1/inventory/tokens?flag=leaked' })).statusCode).toBe(400);
  });

  it('GET /v1/inventory/pii shows where each PII type goes', async () => {
    const server = await app();
    const res = await server.inject({ url: '/v1/inventory/pii?type=email' });
    expect(res.json<{ items: unknown[] }>().items).toEqual([expect.objectContaining({ identity: 'ci', destination: 'pastebin.com:443', type: 'email', count: 1, actions: { redact: 1 } })]);
  });
});
