import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Node } from '../../proto/gen/envoy/config/core/v3/base.js';
import type { SnapshotCache } from '../cache/cache.js';
import type { Snapshot } from '../cache/snapshot.js';
import type { StreamKind, StreamStatus, XdsStatus } from '../status.js';
import { comparePushOrder, TYPE_URL } from '../types.js';
import { LIMITS } from '../../config/limits.js';
import type { WriteBudget } from './write-budget.js';

export interface AdsDeps {
  cache: SnapshotCache;
  status: XdsStatus;
  logger?: Logger;
  /** Spreads the pushes of a new snapshot over event-loop turns; without it, every stream is pushed at once. */
  pushes?: PushQueue;
  /** Counts a refusal for a fixed limit (tollgate_limit_rejections_total). */
  onLimit?: (limit: 'adsStreamsPerNode' | 'adsTypesPerStream') => void;
  /** Bounds the response bytes in flight across streams (write-budget.ts); without it, every response is written at once. */
  writes?: WriteBudget;
}

/** How long one turn of the push queue may run before it lets I/O (writes, ACKs, the PUT's answer) through. */
export const PUSH_SLICE_MS = 8;

/**
 * Pushes a new snapshot to its streams a slice at a time: setSnapshot (and the policy PUT that called it) returns at
 * once, the first streams' bytes go out while later ones are still being served, and ACKs are read in between.
 * A stream queued twice is pushed once, from the newest snapshot it has been given.
 */
export class PushQueue {
  /**
   * Streams whose push is small (delta with VHDS: the changed clusters and virtual hosts, about a kilobyte) go before
   * those that resend whole sets (SotW: every cluster and the route table, ~860 KB at 1,000 destinations), so the
   * many small updates are not queued behind the large ones (shortest job first).
   */
  private readonly first = new Set<{ flush(): void }>();
  private readonly later = new Set<{ flush(): void }>();
  private scheduled = false;

  constructor(private readonly sliceMs = PUSH_SLICE_MS) {}

  add(stream: { flush(): void }, small = false): void {
    if (small) {
      if (!this.later.has(stream)) this.first.add(stream);
    } else if (!this.first.has(stream)) this.later.add(stream);
    this.schedule();
  }

  delete(stream: { flush(): void }): void {
    this.first.delete(stream);
    this.later.delete(stream);
  }

  get size(): number {
    return this.first.size + this.later.size;
  }

  private schedule(): void {
    if (this.scheduled || this.size === 0) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const deadline = performance.now() + this.sliceMs;
    for (const queue of [this.first, this.later]) {
      for (const stream of queue) {
        queue.delete(stream);
        stream.flush();
        if (performance.now() >= deadline) {
          this.schedule();
          return;
        }
      }
    }
    this.schedule();
  }
}

/** What every per-type protocol state has: the last response's nonce and whether its ACK/NACK is still due. */
export interface TypeStateBase {
  readonly typeUrl: string;
  nonce: string | undefined;
  inflight: boolean;
}

/**
 * Make: send additions and updates in PUSH_ORDER. Break: afterwards, drop what the new snapshot no longer has, so
 * clusters disappear only after the listeners and routes that named them have moved on.
 */
export type PushPass = 'make' | 'break';

const BREAK_TYPES: ReadonlySet<string> = new Set([TYPE_URL.cluster, TYPE_URL.endpoint]);

/** How long listeners and routes wait for the load assignments of new clusters before going out anyway. */
export const ENDPOINT_WAIT_MS = 2_000;

export class RequestError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The stream lifecycle both ADS variants share: node on the first request, the cache watch, the status record, and
 * the ordered push loop. Subclasses only speak their variant of the protocol.
 */
export abstract class AdsStream<Req extends { node?: Node; type_url?: string }, Res extends { readonly length: number }, State extends TypeStateBase, Plan> {
  protected readonly states = new Map<string, State>();
  protected snapshot: Snapshot | undefined;
  protected status: StreamStatus | undefined;
  protected readonly logger: Logger | undefined;
  private nonceCounter = 0;
  private unwatch: (() => void) | undefined;
  private closed = false;
  /** Load assignments of clusters just sent that the client has not received yet; listeners and routes wait for them. */
  private readonly awaitedEndpoints = new Set<string>();
  private readonly ackCounts = new Map<string, number>();
  private endpointTimer: NodeJS.Timeout | undefined;
  /** Bytes written to grpc-js whose write callback has not come yet (counted in deps.writes). */
  private unflushed = 0;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly deps: AdsDeps,
    private readonly kind: StreamKind,
  ) {
    this.logger = deps.logger;
    call.on('data', (req: Req) => this.receive(req));
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  /** Whether this stream is served the snapshot's VHDS view (resources/vhds.ts); SotW never is. */
  protected takesVhds(_node: Node): boolean {
    return false;
  }

  protected abstract handle(req: Req, typeUrl: string): void;
  protected abstract plan(state: State, snapshot: Snapshot, pass: PushPass): Plan | undefined;
  protected abstract send(state: State, snapshot: Snapshot, plan: Plan, nonce: string): void;
  /** About how many bytes the plan's response will be (for the write budget). */
  protected abstract sizeOf(plan: Plan): number;

  private receive(req: Req): void {
    if (this.closed) return;
    try {
      const typeUrl = req.type_url;
      if (!typeUrl) throw new RequestError(grpc.status.INVALID_ARGUMENT, 'request has no type_url');
      // Each type a stream names keeps state; Envoy knows about a dozen xDS types, a hostile client could name millions.
      if (!this.states.has(typeUrl) && this.states.size >= LIMITS.adsTypesPerStream) {
        this.deps.onLimit?.('adsTypesPerStream');
        throw new RequestError(grpc.status.RESOURCE_EXHAUSTED, `more than ${LIMITS.adsTypesPerStream} resource types on one stream (adsTypesPerStream)`);
      }
      if (!this.status) this.start(req.node);
      this.handle(req, typeUrl);
      this.push();
    } catch (err) {
      if (err instanceof RequestError) this.fail(err.code, err.message);
      else {
        this.logger?.error({ err, node: this.status?.info.nodeId }, 'xds stream failed');
        this.fail(grpc.status.INTERNAL, 'internal error handling the request');
      }
    }
  }

  private start(node: Node | undefined): void {
    if (!node?.id) throw new RequestError(grpc.status.INVALID_ARGUMENT, 'the first request on a stream must carry node.id');
    // Each stream holds a snapshot watch and per-type state: one node id may not open them without bound.
    if (this.deps.status.streamsOf(node.id) >= LIMITS.adsStreamsPerNode) {
      this.deps.onLimit?.('adsStreamsPerNode');
      throw new RequestError(grpc.status.RESOURCE_EXHAUSTED, `node ${node.id.slice(0, 128)} already holds ${LIMITS.adsStreamsPerNode} ADS streams (the limit)`);
    }
    const group = this.deps.cache.groupOf(node);
    this.status = this.deps.status.connect(this.kind, node, group, this.call.getPeer());
    const vhds = this.takesVhds(node);
    this.snapshot = this.deps.cache.getSnapshot(group)?.viewFor(vhds);
    this.status.snapshotVersion = this.snapshot?.version;
    this.unwatch = this.deps.cache.watch(group, (snapshot) => {
      this.snapshot = snapshot.viewFor(vhds);
      if (this.status) this.status.snapshotVersion = snapshot.version;
      if (this.deps.pushes) this.deps.pushes.add(this, vhds);
      else this.push();
    });
    this.logger?.info({ node: node.id, group, kind: this.kind, snapshot: this.snapshot?.version }, 'xds stream connected');
  }

  /** The push queue's turn for this stream; a failure is logged, as the cache does for a failing watcher. */
  flush(): void {
    try {
      this.push();
    } catch (err) {
      this.logger?.error({ err, node: this.status?.info.nodeId }, 'xds snapshot push failed');
    }
  }

  /** Sends what each type needs, in push order; a type still awaiting its ACK holds back every type after it. */
  protected push(): void {
    if (this.pushTypes() === 'idle') this.deps.writes?.pass();
  }

  /** One push pass: whether it sent a response, is waiting for the write budget, or had nothing to send. */
  private pushTypes(): 'sent' | 'waiting' | 'idle' {
    const snapshot = this.snapshot;
    if (!snapshot || this.closed) return 'idle';
    let sent = false;
    const types = [...this.states.keys()].sort(comparePushOrder);
    for (const pass of ['make', 'break'] as const) {
      for (const typeUrl of types) {
        if (pass === 'break' && !BREAK_TYPES.has(typeUrl)) continue;
        if (this.awaitedEndpoints.size > 0 && (pass === 'break' || comparePushOrder(typeUrl, TYPE_URL.endpoint) > 0)) {
          this.armEndpointTimer();
          return sent ? 'sent' : 'idle';
        }
        const state = this.states.get(typeUrl);
        if (!state) continue;
        const plan = this.plan(state, snapshot, pass);
        if (plan === undefined) continue;
        if (state.inflight) return sent ? 'sent' : 'idle';
        // A large response waits while others are being flushed; the budget pushes this stream again (plan is pure).
        if (this.deps.writes && !this.deps.writes.admit(this, this.sizeOf(plan))) return 'waiting';
        const nonce = String(++this.nonceCounter);
        state.nonce = nonce;
        state.inflight = true;
        this.send(state, snapshot, plan, nonce);
        sent = true;
      }
    }
    return sent ? 'sent' : 'idle';
  }

  protected countAck(typeUrl: string): void {
    this.ackCounts.set(typeUrl, (this.ackCounts.get(typeUrl) ?? 0) + 1);
  }

  /**
   * ACKs so far of the types pushed before this one (what it may depend on). A NACKed resource is retried only when
   * this number moved: the rejection may have been a missing dependency, and retrying otherwise would be a NACK loop.
   */
  protected dependencyAcks(typeUrl: string): number {
    let n = 0;
    for (const [t, count] of this.ackCounts) if (comparePushOrder(t, typeUrl) < 0) n += count;
    return n;
  }

  /** Clusters naming these load assignments went out: hold listeners and routes until the client has them. */
  protected awaitEndpoints(names: Iterable<string>): void {
    if (!this.states.has(TYPE_URL.endpoint)) return;
    for (const name of names) this.awaitedEndpoints.add(name);
  }

  protected endpointsDelivered(names: Iterable<string>): void {
    for (const name of names) this.awaitedEndpoints.delete(name);
    if (this.awaitedEndpoints.size === 0 && this.endpointTimer) {
      clearTimeout(this.endpointTimer);
      this.endpointTimer = undefined;
    }
  }

  // A client that never asks for some load assignment must not freeze its listeners and routes forever.
  private armEndpointTimer(): void {
    if (this.endpointTimer) return;
    this.endpointTimer = setTimeout(() => {
      this.endpointTimer = undefined;
      this.logger?.warn({ node: this.status?.info.nodeId, awaiting: [...this.awaitedEndpoints] }, 'xds load assignments never requested');
      this.awaitedEndpoints.clear();
      this.push();
    }, ENDPOINT_WAIT_MS);
    this.endpointTimer.unref();
  }

  /**
   * Hands a response to grpc-js. Its write callback comes once the framed copy has been flushed to the HTTP/2 stream
   * (server-interceptors.js ServerInterceptingCall.sendMessage), and never for a cancelled stream: close() gives back
   * what is still counted.
   */
  protected write(response: Res): void {
    if (this.closed) return;
    const writes = this.deps.writes;
    if (!writes) {
      this.call.write(response);
      return;
    }
    const size = response.length;
    writes.take(size);
    this.unflushed += size;
    this.call.write(response, () => {
      if (this.closed) return;
      this.unflushed -= size;
      writes.release(size);
    });
  }

  private fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.logger?.warn({ code, details, node: this.status?.info.nodeId }, 'xds request rejected');
    this.close();
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    this.deps.pushes?.delete(this);
    if (this.deps.writes) {
      this.deps.writes.forget(this);
      this.deps.writes.release(this.unflushed);
      this.unflushed = 0;
    }
    if (this.endpointTimer) clearTimeout(this.endpointTimer);
    if (this.status) {
      this.deps.status.disconnect(this.status);
      this.logger?.info({ node: this.status.info.nodeId, kind: this.kind }, 'xds stream closed');
    }
  }
}
