/**
 * A minimal HTTP/2 client connection for the load generator: just what an Envoy ext_proc stream needs
 * (HEADERS out, DATA both ways with flow control, half-close or RST_STREAM, SETTINGS/PING/WINDOW_UPDATE/
 * GOAWAY handling), without node:http2.
 *
 * Why not node:http2: its per-stream objects (a Duplex, header objects, listeners) cost ~25 KB of garbage
 * per request, and on this VM a young-generation scavenge takes ~10 ms, so at a few thousand req/s the
 * client spent over 10% of its time paused in GC, adding 10-20 ms to the p99 of every server measured. Here a
 * request allocates a handful of small objects: the latencies measured are the server's, not the client's.
 *
 * Request headers are one pre-encoded HPACK block (literals without indexing, so no dynamic-table state).
 * Response headers are not decoded: the first byte of the response header block must be 0x88 (static
 * index 8, `:status: 200`, how nghttp2 always encodes it), and a server-sent end of stream (trailers, or a
 * trailers-only error) before the second reply fails the exchange.
 */
import { connect as netConnect, type Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const MAX_WINDOW = 2 ** 31 - 1;
const CANCEL = 0x8;

function frameHeader(len: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(len, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return h;
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  if (b.length >= 127) {
    // 7-bit prefix integer: 127, then the rest in 7-bit groups.
    const out = [127];
    let n = b.length - 127;
    while (n >= 128) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.concat([Buffer.from(out), b]);
  }
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** HPACK block of literal header fields without indexing (new name): no dynamic-table state on either side. */
export function hpackBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(headers.flatMap(([k, v]) => [Buffer.from([0x00]), hpackString(k), hpackString(v)]));
}

export interface StreamResult {
  /** gRPC message payloads received (without the 5-byte prefix), in order. */
  replies: Buffer[];
  /** performance.now() when the last awaited reply arrived. */
  endMs: number;
}

/** What one exchange sends and expects; `onReply` returns the next gRPC frame to send, or undefined when done. */
export interface StreamPlan {
  first: Buffer;
  /** Called per reply (index from 0); returns the next frame to send, or null to finish successfully. */
  onReply(index: number, msg: Buffer): Buffer | null | Error;
  close: 'graceful' | 'reset';
}

interface StreamState {
  id: number;
  plan: StreamPlan;
  sendWindow: number;
  /** Data waiting for flow-control window, and whether END_STREAM follows it. */
  queued: Buffer | undefined;
  queuedEnd: boolean;
  partial: Buffer | undefined;
  replies: Buffer[];
  sawHeaders: boolean;
  settled: boolean;
  resolve: (r: StreamResult) => void;
  reject: (e: Error) => void;
}

export class H2Conn {
  private readonly socket: Socket;
  private readonly headerBlock: Buffer;
  private nextId = 1;
  private readonly streams = new Map<number, StreamState>();
  private connSendWindow = 65535;
  private peerInitialWindow = 65535;
  private peerMaxFrame = 16384;
  private received = 0;
  private inbuf: Buffer | undefined;
  private dead: Error | undefined;
  private readonly blocked: StreamState[] = [];
  private corked = false;
  /**
   * The server's SETTINGS_MAX_CONCURRENT_STREAMS (Tollgate advertises 1,000; the floor none). Envoy's connection pool
   * never opens more streams on a connection than that and queues the rest (conn_pool_base.cc
   * `MultiplexedActiveClientBase::onSettings` lowers `concurrent_stream_limit_`; the pool then queues pending streams),
   * so streams over the limit wait here for one to close instead of being refused by the server.
   */
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private readonly pending: Array<{ open: () => void; reject: (e: Error) => void }> = [];

  private constructor(socket: Socket, path: string, authority: string) {
    this.socket = socket;
    this.headerBlock = Buffer.concat([
      Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
      hpackBlock([
        [':path', path],
        [':authority', authority],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['user-agent', 'envoy-bench'],
      ]),
    ]);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, path: string): Promise<H2Conn> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const c = new H2Conn(socket, path, `127.0.0.1:${port}`);
        // SETTINGS: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE max (Envoy uses 256 MiB); then open the connection window.
        const settings = Buffer.alloc(12);
        settings.writeUInt16BE(0x2, 0);
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(0x4, 6);
        settings.writeUInt32BE(MAX_WINDOW, 8);
        const wu = Buffer.alloc(4);
        wu.writeUInt32BE(MAX_WINDOW - 65535, 0);
        socket.write(Buffer.concat([PREFACE, frameHeader(12, T.SETTINGS, 0, 0), settings, frameHeader(4, T.WINDOW_UPDATE, 0, 0), wu]));
        resolve(c);
      });
    });
  }

  get open(): boolean {
    return !this.dead;
  }

  /** Opens a stream, sends `plan.first`, and feeds each reply to `plan.onReply` until it returns null. */
  stream(plan: StreamPlan): Promise<StreamResult> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      const open = () => {
        const id = this.nextId;
        this.nextId += 2;
        const s: StreamState = { id, plan, sendWindow: this.peerInitialWindow, queued: undefined, queuedEnd: false, partial: undefined, replies: [], sawHeaders: false, settled: false, resolve, reject };
        this.streams.set(id, s);
        this.write(frameHeader(this.headerBlock.length, T.HEADERS, F.END_HEADERS, id), this.headerBlock);
        this.sendData(s, plan.first, false);
      };
      if (this.streams.size < this.peerMaxStreams) open();
      else this.pending.push({ open, reject });
    });
  }

  /** A stream is gone (closed, reset or ended): open waiting ones while the server's limit allows. */
  private remove(id: number): void {
    this.streams.delete(id);
    this.openPending();
  }

  private openPending(): void {
    while (this.pending.length > 0 && this.streams.size < this.peerMaxStreams && !this.dead) this.pending.shift()!.open();
  }

  destroy(): void {
    this.fail(new Error('connection destroyed'));
    this.socket.destroy();
  }

  private write(...bufs: Buffer[]): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const b of bufs) this.socket.write(b);
  }

  private sendData(s: StreamState, data: Buffer, end: boolean): void {
    if (s.queued) {
      s.queued = Buffer.concat([s.queued, data]);
      s.queuedEnd ||= end;
      return;
    }
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.peerMaxFrame, this.connSendWindow, s.sendWindow);
      if (n <= 0) {
        s.queued = data.subarray(off);
        s.queuedEnd = end;
        this.blocked.push(s);
        return;
      }
      const last = off + n === data.length;
      this.write(frameHeader(n, T.DATA, last && end ? F.END_STREAM : 0, s.id), data.subarray(off, off + n));
      this.connSendWindow -= n;
      s.sendWindow -= n;
      off += n;
    }
    if (data.length === 0 && end) this.write(frameHeader(0, T.DATA, F.END_STREAM, s.id));
  }

  private flushBlocked(): void {
    const waiting = this.blocked.splice(0);
    for (const s of waiting) {
      if (!this.streams.has(s.id) || !s.queued) continue;
      const data = s.queued;
      s.queued = undefined;
      this.sendData(s, data, s.queuedEnd);
    }
  }

  private settle(s: StreamState, err: Error | undefined): void {
    if (s.settled) return;
    s.settled = true;
    if (err) {
      this.remove(s.id);
      this.write(frameHeader(4, T.RST_STREAM, 0, s.id), u32(CANCEL));
      s.reject(err);
      return;
    }
    const endMs = performance.now();
    if (s.plan.close === 'reset') {
      this.remove(s.id);
      this.write(frameHeader(4, T.RST_STREAM, 0, s.id), u32(CANCEL));
    } else {
      this.sendData(s, Buffer.alloc(0), true); // half-close; the stream goes when the server's trailers arrive
    }
    s.resolve({ replies: s.replies, endMs });
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const s of this.streams.values()) {
      if (!s.settled) {
        s.settled = true;
        s.reject(err);
      }
    }
    this.streams.clear();
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private onData(d: Buffer): void {
    const buf = this.inbuf ? Buffer.concat([this.inbuf, d]) : d;
    this.inbuf = undefined;
    let off = 0;
    while (buf.length - off >= 9) {
      const len = buf.readUIntBE(off, 3);
      if (buf.length - off < 9 + len) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      this.onFrame(type, flags, id, buf.subarray(off + 9, off + 9 + len));
      off += 9 + len;
      if (this.dead) return;
    }
    if (off < buf.length) this.inbuf = Buffer.from(buf.subarray(off));
  }

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    switch (type) {
      case T.DATA: {
        this.received += p.length;
        if (this.received > 64 * 1024 * 1024) {
          this.write(frameHeader(4, T.WINDOW_UPDATE, 0, 0), u32(this.received));
          this.received = 0;
        }
        const s = this.streams.get(id);
        if (!s) return;
        let body = p;
        if (flags & F.PADDED) body = p.subarray(1, p.length - p[0]!);
        if (!s.settled && body.length > 0) this.onMessageBytes(s, body);
        if (flags & F.END_STREAM) this.endByServer(s);
        return;
      }
      case T.HEADERS: {
        const s = this.streams.get(id);
        if (!s) return;
        if (!s.sawHeaders) {
          s.sawHeaders = true;
          let i = 0;
          if (flags & F.PADDED) i += 1;
          if (flags & F.PRIORITY) i += 5;
          if (p[i] !== 0x88 && !s.settled) return this.settle(s, new Error(`response header block does not start with :status 200 (0x${(p[i] ?? 0).toString(16)})`));
        }
        if (flags & F.END_STREAM) this.endByServer(s);
        return;
      }
      case T.RST_STREAM: {
        const s = this.streams.get(id);
        if (!s) return;
        this.remove(id);
        if (!s.settled) {
          s.settled = true;
          s.reject(new Error(`stream reset by server (error code ${p.readUInt32BE(0)})`));
        }
        return;
      }
      case T.SETTINGS: {
        if (flags & F.ACK) return;
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const key = p.readUInt16BE(i);
          const value = p.readUInt32BE(i + 2);
          if (key === 0x4) {
            const delta = value - this.peerInitialWindow;
            this.peerInitialWindow = value;
            for (const s of this.streams.values()) s.sendWindow += delta;
          } else if (key === 0x5) this.peerMaxFrame = value;
          else if (key === 0x3) this.peerMaxStreams = value;
        }
        this.write(frameHeader(0, T.SETTINGS, F.ACK, 0));
        this.flushBlocked();
        this.openPending(); // a raised limit lets waiting streams open
        return;
      }
      case T.PING:
        if (!(flags & F.ACK)) this.write(frameHeader(8, T.PING, F.ACK, 0), Buffer.from(p));
        return;
      case T.GOAWAY:
        this.fail(new Error(`GOAWAY from server (error code ${p.length >= 8 ? p.readUInt32BE(4) : '?'})`));
        this.socket.destroy();
        return;
      case T.WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) this.connSendWindow += inc;
        else {
          const s = this.streams.get(id);
          if (s) s.sendWindow += inc;
        }
        this.flushBlocked();
        return;
      }
      default:
        return; // PRIORITY, CONTINUATION of a response header block, unknown: nothing to do
    }
  }

  private onMessageBytes(s: StreamState, chunk: Buffer): void {
    let buf = s.partial ? Buffer.concat([s.partial, chunk]) : chunk;
    s.partial = undefined;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      const msg = buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
      const i = s.replies.length;
      s.replies.push(msg);
      const next = s.plan.onReply(i, msg);
      if (next instanceof Error) return this.settle(s, next);
      if (next === null) return this.settle(s, undefined);
      this.sendData(s, next, false);
    }
    // Keep a copy of a partial message: the frame buffer it came in is not ours to hold.
    if (buf.length > 0) s.partial = Buffer.from(buf);
  }

  private endByServer(s: StreamState): void {
    this.remove(s.id);
    if (!s.settled) {
      s.settled = true;
      s.reject(new Error(`stream ended by server after ${s.replies.length} replies (trailers or an error status)`));
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}
