import type { Node } from '../proto/gen/envoy/config/core/v3/base.js';

export type StreamKind = 'sotw' | 'delta';

export interface NackRecord {
  message: string;
  code: number;
  /** The version the client rejected (what we had sent with that nonce). */
  rejectedVersion: string;
  nonce: string;
  at: string;
}

export interface TypeStatus {
  typeUrl: string;
  /** pending: a response is awaiting its ACK/NACK; acked / nacked: the client answered the last response. */
  state: 'pending' | 'acked' | 'nacked';
  lastSentVersion?: string;
  lastSentNonce?: string;
  lastSentAt?: string;
  lastSentResources?: number;
  lastSentRemoved?: number;
  lastAckedVersion?: string;
  lastAckedAt?: string;
  lastNack?: NackRecord;
}

export interface NodeStatus {
  streamId: number;
  kind: StreamKind;
  nodeId: string;
  cluster: string;
  group: string;
  locality: { region: string; zone: string; subZone: string };
  userAgent: { name: string; version: string };
  peer: string;
  connectedSince: string;
  /** The snapshot version the stream is serving from. */
  snapshotVersion?: string;
  types: TypeStatus[];
}

export type XdsStatusEvent =
  | { kind: 'connect' | 'disconnect'; streamId: number; nodeId: string }
  | { kind: 'ack'; streamId: number; nodeId: string; typeUrl: string; version: string }
  | { kind: 'nack'; streamId: number; nodeId: string; typeUrl: string; version: string; message: string };

export type XdsStatusListener = (event: XdsStatusEvent) => void;

let isoAt = -1;
let iso = '';

/** new Date().toISOString(), formatted once per millisecond: a fan-out stamps thousands of records at once. */
function nowIso(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

/** Per-stream status record the stream servers write to; the registry lists them. */
export class StreamStatus {
  readonly info: Omit<NodeStatus, 'types' | 'snapshotVersion'>;
  snapshotVersion: string | undefined;
  private readonly types = new Map<string, TypeStatus>();
  private readonly emit: XdsStatusListener;

  constructor(info: Omit<NodeStatus, 'types' | 'snapshotVersion'>, emit: XdsStatusListener) {
    this.info = info;
    this.emit = emit;
  }

  private type(typeUrl: string): TypeStatus {
    let t = this.types.get(typeUrl);
    if (!t) this.types.set(typeUrl, (t = { typeUrl, state: 'pending' }));
    return t;
  }

  sent(typeUrl: string, version: string, nonce: string, resources: number, removed = 0): void {
    const t = this.type(typeUrl);
    t.state = 'pending';
    t.lastSentVersion = version;
    t.lastSentNonce = nonce;
    t.lastSentAt = nowIso();
    t.lastSentResources = resources;
    t.lastSentRemoved = removed;
  }

  acked(typeUrl: string, version: string): void {
    const t = this.type(typeUrl);
    t.state = 'acked';
    t.lastAckedVersion = version;
    t.lastAckedAt = nowIso();
    this.emit({ kind: 'ack', streamId: this.info.streamId, nodeId: this.info.nodeId, typeUrl, version });
  }

  nacked(typeUrl: string, rejectedVersion: string, nonce: string, code: number, message: string): void {
    const t = this.type(typeUrl);
    t.state = 'nacked';
    t.lastNack = { message, code, rejectedVersion, nonce, at: nowIso() };
    this.emit({ kind: 'nack', streamId: this.info.streamId, nodeId: this.info.nodeId, typeUrl, version: rejectedVersion, message });
  }

  toJSON(): NodeStatus {
    return {
      ...this.info,
      locality: { ...this.info.locality },
      userAgent: { ...this.info.userAgent },
      ...(this.snapshotVersion !== undefined ? { snapshotVersion: this.snapshotVersion } : {}),
      types: [...this.types.values()].map((t) => ({ ...t, ...(t.lastNack ? { lastNack: { ...t.lastNack } } : {}) })),
    };
  }
}

/** Connected Envoys and what each was sent, ACKed and NACKed; served as JSON at GET /v1/xds/nodes. */
export class XdsStatus {
  private readonly streams = new Map<number, StreamStatus>();
  private readonly listeners = new Set<XdsStatusListener>();
  private nextStreamId = 1;

  /** Registers a stream once its first request has named the node. */
  connect(kind: StreamKind, node: Node, group: string, peer = ''): StreamStatus {
    const streamId = this.nextStreamId++;
    const version = node.user_agent_version ?? buildVersionString(node);
    const status = new StreamStatus(
      {
        streamId,
        kind,
        nodeId: node.id ?? '',
        cluster: node.cluster ?? '',
        group,
        locality: { region: node.locality?.region ?? '', zone: node.locality?.zone ?? '', subZone: node.locality?.sub_zone ?? '' },
        userAgent: { name: node.user_agent_name ?? '', version },
        peer,
        connectedSince: new Date().toISOString(),
      },
      (event) => this.publish(event),
    );
    this.streams.set(streamId, status);
    this.publish({ kind: 'connect', streamId, nodeId: status.info.nodeId });
    return status;
  }

  disconnect(status: StreamStatus): void {
    if (this.streams.delete(status.info.streamId)) {
      this.publish({ kind: 'disconnect', streamId: status.info.streamId, nodeId: status.info.nodeId });
    }
  }

  /** Streams currently open for one node id (a linear scan: called once per new stream). */
  streamsOf(nodeId: string): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.info.nodeId === nodeId) n++;
    return n;
  }

  /** Plain JSON, one entry per connected stream, ordered by node id then connection time. */
  list(): NodeStatus[] {
    return [...this.streams.values()]
      .map((s) => s.toJSON())
      .sort((a, b) => (a.nodeId === b.nodeId ? a.streamId - b.streamId : a.nodeId < b.nodeId ? -1 : 1));
  }

  get size(): number {
    return this.streams.size;
  }

  /** Observes connects, ACKs and NACKs (benchmarks wait on these); returns the unsubscribe function. */
  subscribe(listener: XdsStatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(event: XdsStatusEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function buildVersionString(node: Node): string {
  const v = node.user_agent_build_version?.version;
  if (!v) return '';
  return `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}`;
}
