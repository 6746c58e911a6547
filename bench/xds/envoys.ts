/**
 * The simulated Envoys of the xDS benchmark: one process (pinned to its own CPU by run.ts) holding N ADS
 * streams, state-of-the-world and delta mixed (half and half by default), driven over IPC by run.ts.
 *
 * Each stream behaves like Envoy's ADS client as far as the server can tell: node on the first request, CDS
 * wildcard first, LDS wildcard once the first CDS response is ACKed, RDS `egress_http` once the listener
 * arrived; every response is ACKed at once (SotW echoes version and nonce, delta the nonce). Responses are
 * not decoded beyond their envelope (see wire.ts). Streams share HTTP/2 connections `perConn` at a time
 * (default 1: one connection per Envoy, as in production); the client window is Envoy's default 256 MiB.
 *
 * The same process also drives the fan-out floor: the same number of streams, laid out the same way, on a
 * no-op bidi server (noop-server.ts) that writes one tiny message (or one message of a given size) to every
 * stream when asked over HTTP.
 *
 * Every time is taken here, on this process's clock: from just before the HTTP request (PUT /v1/policy or the
 * floor's POST /push) to the moment a stream wrote its ACK.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { serviceDefinition } from '../../src/proto/load.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { kindOf } from './mix.js';
import { NOOP_METHOD, readDeltaResponse, readSotwResponse, type DeltaHead, type SotwHead } from './wire.js';

export const ROUTE_NAME = 'egress_http';

export type Command =
  | { cmd: 'connect'; target: 'xds' | 'noop'; address: string; streams: number; perConn: number; sotwPercent: number; timeoutMs: number }
  | { cmd: 'put'; url: string; body: string; timeoutMs: number }
  | { cmd: 'trigger'; url: string; timeoutMs: number }
  | { cmd: 'close' };

export interface Connected {
  cmd: 'connected';
  streams: number;
  connections: number;
  /** Until every stream holds clusters, listener and routes (xds) or got the server's hello (noop). */
  ms: number;
  initialVersion?: string;
}

export interface TypeCounts {
  /** Responses of this type carrying the version, per stream kind. */
  responses: number;
  /** Resources per response: min / max over streams. */
  resourcesMin: number;
  resourcesMax: number;
  removedMax: number;
  bytesPerResponse: number;
}

export interface Round {
  cmd: 'round';
  version: string;
  /** HTTP request until its response (PUT /v1/policy or POST /push). */
  requestMs: number;
  /** Per-stream time until it ACKed everything the change carried; NaN for a stream that did not finish. */
  latencies: number[];
  done: number;
  firstResponseMs: number;
  counts: Record<'sotw' | 'delta', Record<string, TypeCounts>>;
  /** Names of the resources one delta stream received for the change, per type (a sample). */
  deltaSample: Record<string, string[]>;
  clientCpuMs: number;
  clientEventLoopUtilization: number;
  errors: number;
}

type Reply = Connected | Round | { cmd: 'closed' } | { cmd: 'error'; message: string };

const SHORT: Record<string, string> = {
  [TYPE_URL.cluster]: 'cds',
  [TYPE_URL.listener]: 'lds',
  [TYPE_URL.route]: 'rds',
  [TYPE_URL.endpoint]: 'eds',
  [TYPE_URL.virtualHost]: 'vhds',
};

/**
 * A policy change that adds a destination changes clusters and the route table, not the listener: on SotW the route
 * configuration, on delta (an Envoy, so VHDS) one VirtualHost.
 */
const CHANGE_TYPES = { sotw: ['cds', 'rds'], delta: ['cds', 'vhds'] } as const;
/** Each stream's kind, by index (the change types it must ACK). */
let kinds: Array<'sotw' | 'delta'> = [];

const CLIENT_OPTIONS: grpc.ChannelOptions = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': -1,
  // Envoy's default HTTP/2 initial stream and connection windows.
  'grpc-node.flow_control_window': 256 * 1024 * 1024,
};

interface Seen {
  kind: 'sotw' | 'delta';
  type: string;
  resources: number;
  removed: number;
  bytes: number;
}

/** What the streams did with one version (xds) or one tick (noop). */
class VersionLog {
  readonly acked = new Map<string, Float64Array>();
  readonly done: Float64Array;
  doneCount = 0;
  firstResponse = Number.POSITIVE_INFINITY;
  readonly seen: Seen[] = [];
  deltaSample: Record<string, string[]> | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    readonly streams: number,
    readonly needed: Readonly<Record<'sotw' | 'delta', readonly string[]>> | readonly string[],
  ) {
    this.done = new Float64Array(streams).fill(Number.NaN);
  }

  ack(i: number, type: string, at: number): void {
    let a = this.acked.get(type);
    if (!a) this.acked.set(type, (a = new Float64Array(this.streams).fill(Number.NaN)));
    if (!Number.isNaN(a[i]!)) return;
    a[i] = at;
    if (!Number.isNaN(this.done[i]!)) return;
    let last = 0;
    const needed = Array.isArray(this.needed) ? this.needed : (this.needed as Record<'sotw' | 'delta', readonly string[]>)[kinds[i] ?? 'sotw'];
    for (const t of needed) {
      const v = this.acked.get(t)?.[i];
      if (v === undefined || Number.isNaN(v)) return;
      last = Math.max(last, v);
    }
    this.done[i] = last;
    if (++this.doneCount === this.streams) this.waiter?.();
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.doneCount === this.streams) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

let clients: grpc.Client[] = [];
let calls: grpc.ClientDuplexStream<unknown, unknown>[] = [];
let errors = 0;
const logs = new Map<string, VersionLog>();
let streamCount = 0;

function logFor(version: string, needed: VersionLog['needed']): VersionLog {
  let l = logs.get(version);
  if (!l) logs.set(version, (l = new VersionLog(streamCount, needed)));
  return l;
}

function closeAll(): void {
  for (const c of calls) c.cancel();
  for (const c of clients) c.close();
  calls = [];
  clients = [];
  logs.clear();
  errors = 0;
}

function openClients(address: string, streams: number, perConn: number): void {
  const n = Math.ceil(streams / perConn);
  clients = Array.from({ length: n }, () => new grpc.Client(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS));
}

async function connectXds(address: string, streams: number, perConn: number, sotwPercent: number, timeoutMs: number): Promise<Connected> {
  const def = serviceDefinition(ADS_SERVICE);
  const sotwDef = def.StreamAggregatedResources!;
  const deltaDef = def.DeltaAggregatedResources!;
  const started = performance.now();
  streamCount = streams;
  kinds = Array.from({ length: streams }, (_, i) => kindOf(i, sotwPercent));
  openClients(address, streams, perConn);
  // Initial sync: every stream holds clusters, listener and routes at some version.
  const ready = new Uint8Array(streams);
  let readyCount = 0;
  let initialVersion = '';
  let onReady: (() => void) | undefined;
  // A delta stream (an Envoy: VHDS) is ready with its first VHDS answer, which follows its route configuration.
  const markReady = (i: number, type: string, version: string) => {
    if (type !== (kinds[i] === 'delta' ? 'vhds' : 'rds') || ready[i]) return;
    ready[i] = 1;
    initialVersion = version;
    if (++readyCount === streams) onReady?.();
  };

  for (let i = 0; i < streams; i++) {
    const client = clients[Math.floor(i / perConn)]!;
    const kind = kindOf(i, sotwPercent);
    const node = { id: `bench-envoy-${i}`, cluster: 'egress-gateway', locality: {}, user_agent_name: 'envoy', user_agent_version: 'bench' };
    const requested = new Set<string>(['cds']);
    if (kind === 'sotw') {
      const call = client.makeBidiStreamRequest(sotwDef.path, sotwDef.requestSerialize, (b: Buffer) => readSotwResponse(b));
      calls.push(call as grpc.ClientDuplexStream<unknown, unknown>);
      const names: Record<string, string[]> = { [TYPE_URL.cluster]: [], [TYPE_URL.listener]: [], [TYPE_URL.route]: [ROUTE_NAME] };
      call.on('data', (res: SotwHead) => {
        const received = performance.now();
        call.write({ type_url: res.typeUrl, version_info: res.version, response_nonce: res.nonce, resource_names: names[res.typeUrl] ?? [] });
        const type = SHORT[res.typeUrl] ?? res.typeUrl;
        if (type === 'cds' && !requested.has('lds')) {
          requested.add('lds');
          call.write({ type_url: TYPE_URL.listener, resource_names: [] });
        } else if (type === 'lds' && !requested.has('rds')) {
          requested.add('rds');
          call.write({ type_url: TYPE_URL.route, resource_names: [ROUTE_NAME] });
        }
        record(i, 'sotw', type, res.version, received, performance.now(), res.resources, 0, res.bytes, undefined);
        markReady(i, type, res.version);
      });
      call.on('error', () => errors++);
      call.write({ node, type_url: TYPE_URL.cluster, resource_names: [] });
    } else {
      const call = client.makeBidiStreamRequest(deltaDef.path, deltaDef.requestSerialize, (b: Buffer) => readDeltaResponse(b));
      calls.push(call as grpc.ClientDuplexStream<unknown, unknown>);
      call.on('data', (res: DeltaHead) => {
        const received = performance.now();
        call.write({ type_url: res.typeUrl, response_nonce: res.nonce });
        const type = SHORT[res.typeUrl] ?? res.typeUrl;
        if (type === 'cds' && !requested.has('lds')) {
          requested.add('lds');
          call.write({ type_url: TYPE_URL.listener, resource_names_subscribe: [] });
        } else if (type === 'lds' && !requested.has('rds')) {
          requested.add('rds');
          call.write({ type_url: TYPE_URL.route, resource_names_subscribe: [ROUTE_NAME] });
        } else if (type === 'rds' && !requested.has('vhds')) {
          // Tollgate gives Envoys on delta a route configuration with vhds (not decoded here): Envoy then subscribes
          // to its name as a VHDS namespace (vhds.cc VhdsSubscription: start({route config name})).
          requested.add('vhds');
          call.write({ type_url: TYPE_URL.virtualHost, resource_names_subscribe: [ROUTE_NAME] });
        }
        record(i, 'delta', type, res.version, received, performance.now(), res.resources, res.removed.length, res.bytes, res.names);
        markReady(i, type, res.version);
      });
      call.on('error', () => errors++);
      // Envoy's CDS and LDS subscriptions are legacy wildcards: an empty first request.
      call.write({ node, type_url: TYPE_URL.cluster, resource_names_subscribe: [] });
    }
  }
  if (readyCount < streams) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${readyCount}/${streams} streams synced within ${timeoutMs} ms (${errors} stream errors)`)), timeoutMs);
      onReady = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  const ms = performance.now() - started;
  logs.clear();
  return { cmd: 'connected', streams, connections: clients.length, ms, initialVersion };
}

function record(i: number, kind: 'sotw' | 'delta', type: string, version: string, received: number, ackedAt: number, resources: number, removed: number, bytes: number, names: string[] | undefined): void {
  const log = logFor(version, CHANGE_TYPES);
  log.firstResponse = Math.min(log.firstResponse, received);
  log.seen.push({ kind, type, resources, removed, bytes });
  if (kind === 'delta' && names) {
    log.deltaSample ??= {};
    if (!log.deltaSample[type]) log.deltaSample[type] = names.slice(0, 20);
  }
  log.ack(i, type, ackedAt);
}

function countsOf(seen: readonly Seen[]): Round['counts'] {
  const out: Round['counts'] = { sotw: {}, delta: {} };
  for (const s of seen) {
    const c = (out[s.kind][s.type] ??= { responses: 0, resourcesMin: Number.POSITIVE_INFINITY, resourcesMax: 0, removedMax: 0, bytesPerResponse: 0 });
    c.responses++;
    c.resourcesMin = Math.min(c.resourcesMin, s.resources);
    c.resourcesMax = Math.max(c.resourcesMax, s.resources);
    c.removedMax = Math.max(c.removedMax, s.removed);
    c.bytesPerResponse += s.bytes;
  }
  for (const kind of ['sotw', 'delta'] as const) for (const c of Object.values(out[kind])) c.bytesPerResponse = Math.round(c.bytesPerResponse / c.responses);
  return out;
}

async function timedRound(request: () => Promise<string>, needed: VersionLog['needed'], timeoutMs: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const version = await request();
  const requestMs = performance.now() - t0;
  const log = logFor(version, needed);
  await log.wait(timeoutMs);
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  logs.delete(version);
  return {
    cmd: 'round',
    version,
    requestMs,
    latencies: Array.from(log.done, (t) => t - t0),
    done: log.doneCount,
    firstResponseMs: log.firstResponse - t0,
    counts: countsOf(log.seen),
    deltaSample: log.deltaSample ?? {},
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    clientEventLoopUtilization: elu.utilization,
    errors,
  };
}

function put(url: string, body: string, timeoutMs: number): Promise<Round> {
  return timedRound(async () => {
    const res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body });
    const json = (await res.json()) as { version?: number; error?: string };
    if (!res.ok || json.version === undefined) throw new Error(`PUT ${url}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
    return String(json.version);
  }, CHANGE_TYPES, timeoutMs);
}

// ---- the fan-out floor: same streams on a no-op server ----

async function connectNoop(address: string, streams: number, perConn: number, sotwPercent: number, timeoutMs: number): Promise<Connected> {
  const started = performance.now();
  streamCount = streams;
  openClients(address, streams, perConn);
  const identity = (b: Buffer) => b;
  const ack = Buffer.from('ack');
  let hellos = 0;
  let onReady: (() => void) | undefined;
  for (let i = 0; i < streams; i++) {
    const call = clients[Math.floor(i / perConn)]!.makeBidiStreamRequest(NOOP_METHOD, identity, identity);
    calls.push(call as grpc.ClientDuplexStream<unknown, unknown>);
    call.on('data', (msg: Buffer) => {
      const text = msg.toString('latin1', 0, Math.min(msg.length, 32));
      if (text === 'hello') {
        if (++hellos === streams) onReady?.();
        return;
      }
      // `tick:<n>;...`: ACK it, as an Envoy ACKs a response.
      const received = performance.now();
      call.write(ack);
      const log = logFor(text.slice(5, text.indexOf(';')), ['tick']);
      log.firstResponse = Math.min(log.firstResponse, received);
      log.ack(i, 'tick', performance.now());
    });
    call.on('error', () => errors++);
    call.write(Buffer.from(`hi:${kindOf(i, sotwPercent)}`));
  }
  if (hellos < streams) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${hellos}/${streams} no-op streams open within ${timeoutMs} ms`)), timeoutMs);
      onReady = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  return { cmd: 'connected', streams, connections: clients.length, ms: performance.now() - started };
}

function trigger(url: string, timeoutMs: number): Promise<Round> {
  return timedRound(async () => {
    const res = await fetch(url, { method: 'POST' });
    const json = (await res.json()) as { tick: number };
    return String(json.tick);
  }, ['tick'], timeoutMs);
}

// ---- IPC ----

function reply(msg: Reply): void {
  process.send?.(msg);
}

async function handle(msg: Command): Promise<Reply> {
  switch (msg.cmd) {
    case 'connect':
      closeAll();
      return msg.target === 'xds'
        ? connectXds(msg.address, msg.streams, msg.perConn, msg.sotwPercent, msg.timeoutMs)
        : connectNoop(msg.address, msg.streams, msg.perConn, msg.sotwPercent, msg.timeoutMs);
    case 'put':
      return put(msg.url, msg.body, msg.timeoutMs);
    case 'trigger':
      return trigger(msg.url, msg.timeoutMs);
    case 'close':
      closeAll();
      return { cmd: 'closed' };
  }
}

if (!process.send) {
  console.error('envoys.ts is driven by bench/xds/run.ts over IPC');
  process.exit(2);
}
process.on('message', (msg: Command) => {
  handle(msg).then(reply, (err: Error) => reply({ cmd: 'error', message: err.stack ?? err.message }));
});
process.on('disconnect', () => process.exit(0));
