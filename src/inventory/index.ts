import type { EventBus } from '../events/bus.js';
import type { DecisionEvent, EgressEvent } from '../events/types.js';
import type { InventoryRecord, InventoryStore, InventoryTable } from '../store/inventory-store.js';
import { DeltaBatch } from './delta-batch.js';
import { hostMatches, splitDestination } from './destination.js';
import { edgeBytes, edgeKey, edgeRequests, edgeView, foldAccess, foldDecision, identityKeyPrefix, keyPart, type EdgeView } from './edges.js';
import { paginate, type Page } from './page.js';
import { foldPii, PII_TYPES, piiView, type PiiView } from './pii.js';
import { RequestJoin } from './request-join.js';
import { issuerTable, TOKEN_TYPES } from '../scrub/token-issuers.js';
import { foldToken, tokenFlags, tokenView, type TokenFlag, type TokenView } from './tokens.js';

export type { EdgeView } from './edges.js';
export type { Page } from './page.js';
export { InventoryQueryError } from './page.js';
export type { PiiView } from './pii.js';
export type { TokenFlag, TokenView } from './tokens.js';

export interface InventoryOptions {
  store: InventoryStore;
  /** Extra issuer hosts per token type, e.g. `{ gitlab_token: ['gitlab.internal.example'] }`. */
  tokenIssuers?: Readonly<Record<string, readonly string[]>>;
  onError?: (err: unknown) => void;
}

export interface DestinationQuery {
  identity?: string;
  /** Host name, or `*.suffix` for a domain and its subdomains. */
  host?: string;
  /** Only edges seen at or after this time (ms since epoch). */
  since?: number;
  sort?: 'last_seen' | 'count' | 'bytes';
  cursor?: string;
  limit?: number;
}

export interface GraphQuery {
  identity?: string;
  since?: number;
  /** Most identity→destination edges returned, busiest first (default 2,000). */
  limit?: number;
}

export interface GraphNode {
  id: string;
  kind: 'identity' | 'destination';
  label: string;
}

export interface GraphEdge {
  source: string;
  target: string;
  requests: number;
  allow: number;
  deny: number;
  report_deny: number;
  bytes: number;
  first_seen: string;
  last_seen: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** True when more identity→destination pairs exist than `limit`. */
  truncated: boolean;
}

export interface TokenQuery {
  flag?: TokenFlag;
  type?: string;
  identity?: string;
  since?: number;
  sort?: 'last_seen' | 'count';
  cursor?: string;
  limit?: number;
}

export interface PiiQuery {
  identity?: string;
  host?: string;
  type?: string;
  since?: number;
  sort?: 'last_seen' | 'count';
  cursor?: string;
  limit?: number;
}

const TOKEN_SET: ReadonlySet<string> = new Set(TOKEN_TYPES);
const PII_SET: ReadonlySet<string> = new Set(PII_TYPES);
const SCAN_PAGE = 2048;

/**
 * Discovery: folds egress events into who-talks-to-what edges, a token inventory and a PII map, and
 * answers queries over them. Memory is bounded by the store (embedded: 200,000 edges, 100,000 tokens
 * and PII records by default, least recently seen evicted first).
 *
 * A request counts once: its decision event adds the request to the edge; its access log, joined by
 * request id, adds status class, bytes and upstream latency to that same edge.
 */
export class Inventory {
  readonly store: InventoryStore;
  private readonly issuers: Readonly<Record<string, readonly string[]>>;
  private readonly join = new RequestJoin();
  private readonly onError: (err: unknown) => void;

  constructor(opts: InventoryOptions) {
    this.store = opts.store;
    this.issuers = issuerTable(opts.tokenIssuers);
    this.onError = opts.onError ?? (() => undefined);
  }

  /** Subscribes to the bus; returns the unsubscribe function. */
  attach(bus: EventBus): () => void {
    return bus.subscribe((batch) => this.ingest(batch).catch(this.onError));
  }

  async ingest(events: readonly EgressEvent[]): Promise<void> {
    const edges = new DeltaBatch();
    const tokens = new DeltaBatch();
    const pii = new DeltaBatch();
    // Events come in bursts from one clock and often from one edge: parse a repeated time and key a repeated edge once.
    let lastTime = '';
    let lastAt = Number.NaN;
    let last: DecisionEvent | undefined;
    let lastKey = '';
    for (const e of events) {
      if (e.time !== lastTime) {
        lastTime = e.time;
        lastAt = Date.parse(e.time);
      }
      const at = lastAt;
      if (Number.isNaN(at)) continue;
      if (e.kind === 'decision') {
        if (!last || !sameEdge(last, e)) {
          last = e;
          lastKey = edgeKey(e);
        }
        const key = lastKey;
        foldDecision(edges, key, e, at);
        if (e.request_id) this.join.remember(e.request_id, key);
      } else if (e.kind === 'access') {
        const key = (e.request_id && this.join.take(e.request_id)) || edgeKey(e);
        foldAccess(edges, key, e, at);
      } else if (e.kind === 'scrub') {
        for (const f of e.findings) {
          if (TOKEN_SET.has(f.type)) foldToken(tokens, e, f, at, this.issuers);
          else if (PII_SET.has(f.type)) foldPii(pii, e, f, at);
        }
      }
    }
    await Promise.all([this.apply('edges', edges), this.apply('tokens', tokens), this.apply('pii', pii)]);
  }

  async destinations(q: DestinationQuery = {}): Promise<Page<EdgeView>> {
    const sort = q.sort ?? 'last_seen';
    const rows: Array<{ value: number; key: string; item: InventoryRecord }> = [];
    for await (const page of this.pages('edges', q.identity === undefined ? undefined : identityKeyPrefix(q.identity))) for (const r of page) {
      if (q.since !== undefined && r.lastSeen < q.since) continue;
      if (q.host !== undefined && !hostMatches(splitDestination(keyPart(r.key, 1)).host, q.host.toLowerCase())) continue;
      rows.push({ value: sort === 'count' ? edgeRequests(r) : sort === 'bytes' ? edgeBytes(r) : r.lastSeen, key: r.key, item: r });
    }
    const page = paginate(rows, sort, q.cursor, q.limit ?? 100);
    return { ...page, items: page.items.map(edgeView) };
  }

  /** Every edge (optionally seen since a time), in key order: identity, destination, method, path. */
  async *edges(since?: number): AsyncGenerator<EdgeView> {
    for await (const page of this.pages('edges')) for (const r of page) if (since === undefined || r.lastSeen >= since) yield edgeView(r);
  }

  async graph(q: GraphQuery = {}): Promise<Graph> {
    type Pair = { head: string; requests: number; allow: number; deny: number; report_deny: number; bytes: number; firstMs: number; lastMs: number };
    const pairs: Pair[] = [];
    let p: Pair | undefined;
    // Keys sort by identity, then destination: the edges of one pair are adjacent, so a pair is the run sharing a key head.
    for await (const page of this.pages('edges', q.identity === undefined ? undefined : identityKeyPrefix(q.identity))) {
      for (const r of page) {
        if (q.since !== undefined && r.lastSeen < q.since) continue;
        if (!p || !r.key.startsWith(p.head)) {
          p = { head: pairHead(r.key), requests: 0, allow: 0, deny: 0, report_deny: 0, bytes: 0, firstMs: r.firstSeen, lastMs: r.lastSeen };
          pairs.push(p);
        }
        p.requests += edgeRequests(r);
        p.allow += r.counters.allow ?? 0;
        p.deny += r.counters.deny ?? 0;
        p.report_deny += r.counters.report_deny ?? 0;
        p.bytes += edgeBytes(r);
        if (r.firstSeen < p.firstMs) p.firstMs = r.firstSeen;
        if (r.lastSeen > p.lastMs) p.lastMs = r.lastSeen;
      }
    }
    const limit = q.limit ?? 2000;
    const top = paginate(
      pairs.map((x) => ({ value: x.requests, key: x.head, item: x })),
      'requests',
      undefined,
      limit,
    );
    const nodes = new Map<string, GraphNode>();
    const edges = top.items.map(({ head, firstMs, lastMs, ...counts }) => {
      const identity = keyPart(head, 0);
      const destination = keyPart(`${head.slice(0, -1)}]`, 1);
      const source = `identity:${identity}`;
      const target = `destination:${destination}`;
      nodes.set(source, { id: source, kind: 'identity', label: identity });
      nodes.set(target, { id: target, kind: 'destination', label: destination });
      return { source, target, ...counts, first_seen: new Date(firstMs).toISOString(), last_seen: new Date(lastMs).toISOString() };
    });
    return { nodes: [...nodes.values()].sort((a, b) => cmp(a.id, b.id)), edges, truncated: pairs.length > limit };
  }

  async tokens(q: TokenQuery = {}): Promise<Page<TokenView>> {
    const sort = q.sort ?? 'last_seen';
    const rows: Array<{ value: number; key: string; item: InventoryRecord }> = [];
    for await (const page of this.pages('tokens')) for (const r of page) {
      if (q.since !== undefined && r.lastSeen < q.since) continue;
      if (q.type !== undefined && !(r.sets.type ?? []).includes(q.type)) continue;
      if (q.identity !== undefined && !(r.sets.identities ?? []).includes(q.identity)) continue;
      if (q.flag !== undefined && !tokenFlags(r).includes(q.flag)) continue;
      rows.push({ value: sort === 'count' ? (r.counters.count ?? 0) : r.lastSeen, key: r.key, item: r });
    }
    const page = paginate(rows, sort, q.cursor, q.limit ?? 100);
    return { ...page, items: page.items.map(tokenView) };
  }

  async pii(q: PiiQuery = {}): Promise<Page<PiiView>> {
    const sort = q.sort ?? 'last_seen';
    const rows: Array<{ value: number; key: string; item: InventoryRecord }> = [];
    for await (const page of this.pages('pii', q.identity === undefined ? undefined : identityKeyPrefix(q.identity))) for (const r of page) {
      if (q.since !== undefined && r.lastSeen < q.since) continue;
      if (q.type !== undefined && keyPart(r.key, 2) !== q.type) continue;
      if (q.host !== undefined && !hostMatches(splitDestination(keyPart(r.key, 1)).host, q.host.toLowerCase())) continue;
      rows.push({ value: sort === 'count' ? (r.counters.count ?? 0) : r.lastSeen, key: r.key, item: r });
    }
    const page = paginate(rows, sort, q.cursor, q.limit ?? 100);
    return { ...page, items: page.items.map(piiView) };
  }

  private async apply(table: InventoryTable, batch: DeltaBatch): Promise<void> {
    if (batch.size > 0) await this.store.apply(table, batch.deltas());
  }

  /** Every record of a table in key order, a page at a time (one await per page, not per record). */
  private async *pages(table: InventoryTable, prefix?: string): AsyncGenerator<InventoryRecord[]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.store.scan(table, { after, prefix, limit: SCAN_PAGE });
      yield page.records;
      if (page.next === undefined) return;
      after = page.next;
    }
  }
}

function sameEdge(a: DecisionEvent, b: DecisionEvent): boolean {
  return a.identity === b.identity && a.destination === b.destination && a.method === b.method && a.path_template === b.path_template;
}

/** `["billing","api.stripe.com:443",` for every edge key of that identity and destination. */
function pairHead(key: string): string {
  const second = key.indexOf('","', 2) + 3;
  return key.slice(0, key.indexOf('","', second) + 2);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
