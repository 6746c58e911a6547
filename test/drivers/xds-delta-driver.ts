import * as grpc from '@grpc/grpc-js';
import type { Node } from '../../src/proto/gen/envoy/config/core/v3/base.js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
} from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL, namespaceOf } from '../../src/xds/types.js';
import { openAdsStream, streamStatus, Waiter } from './ads-client.js';
import { dependentNames } from './envoy-dependencies.js';

export interface HeldResource {
  version: string;
  body: Buffer;
}

export interface DeltaReceived {
  typeUrl: string;
  nonce: string;
  systemVersion: string;
  resources: Array<{ name: string; version: string }>;
  removed: string[];
  answer: 'ack' | 'nack';
}

export interface DeltaDriverOptions {
  address: string;
  node: Node;
  /** Envoy's validation: return an error message to NACK the response, undefined to accept it. */
  reject?: (typeUrl: string, resources: ReadonlyArray<{ name: string; body: Buffer }>) => string | undefined;
}

const DEPENDENT: Record<string, string> = { [TYPE_URL.cluster]: TYPE_URL.endpoint, [TYPE_URL.listener]: TYPE_URL.route, [TYPE_URL.route]: TYPE_URL.virtualHost };

/**
 * A test driver that speaks delta ADS the way Envoy does: node in the first request only; CDS wildcard first, EDS by
 * the names its EDS clusters need, LDS wildcard once clusters are warm, RDS by the names its listeners need; ACK with
 * the nonce, NACK with the nonce and error_detail code 13; on reconnect, initial_resource_versions per type with an
 * empty resource_names_subscribe for the wildcard types. A route configuration with `vhds` starts a VirtualHost
 * subscription to its name as a namespace, and takes every `<name>/...` VirtualHost pushed (see vhdsRouteConfiguration).
 */
export class XdsDeltaDriver {
  readonly received: DeltaReceived[] = [];
  readonly sent: DeltaDiscoveryRequest[] = [];
  reject: DeltaDriverOptions['reject'];
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly node: Node;
  private readonly held = new Map<string, Map<string, HeldResource>>();
  private readonly subscribed = new Map<string, Set<string>>();
  private readonly answered = new Set<string>();
  private readonly started = new Set<string>();
  private readonly waiter = new Waiter();
  private stream: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  private nodeSent = false;

  constructor(options: DeltaDriverOptions) {
    this.client = new grpc.Client(options.address, grpc.credentials.createInsecure());
    this.node = options.node;
    this.reject = options.reject;
  }

  /** Opens a stream: a fresh start, or a reconnect announcing what is held when anything is. */
  connect(): void {
    const stream = openAdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(this.client, 'DeltaAggregatedResources');
    this.stream = stream;
    this.nodeSent = false;
    this.started.clear();
    this.status = undefined;
    void streamStatus(stream).then((s) => {
      if (this.stream === stream) this.status = s;
      this.waiter.notify();
    });
    stream.on('data', (res: DeltaDiscoveryResponse) => this.onResponse(res));
    const reconnect = [...this.held.values()].some((m) => m.size > 0);
    if (!reconnect) {
      this.start(TYPE_URL.cluster, []);
      return;
    }
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route, TYPE_URL.virtualHost]) {
      const names = this.subscribed.get(typeUrl);
      const wildcard = typeUrl === TYPE_URL.cluster || typeUrl === TYPE_URL.listener;
      if (!wildcard && (!names || names.size === 0)) continue;
      const initial: Record<string, string> = {};
      // Envoy keeps versions only of resources it requested by name or through a wildcard
      // (delta_subscription_state.cc DeltaSubscriptionState::handleGoodResponse), not of the virtual hosts a VHDS
      // namespace brought, so it declares none of those on reconnect.
      if (typeUrl !== TYPE_URL.virtualHost) for (const [name, r] of this.held.get(typeUrl) ?? []) initial[name] = r.version;
      this.start(typeUrl, wildcard ? [] : [...(names ?? [])], initial);
    }
  }

  /** Drops the stream as a network failure would, keeping what is held for the next connect(). */
  disconnect(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }

  close(): void {
    this.disconnect();
    this.client.close();
  }

  holds(typeUrl: string): ReadonlyMap<string, HeldResource> {
    return this.held.get(typeUrl) ?? new Map();
  }

  responsesOf(typeUrl: string): DeltaReceived[] {
    return this.received.filter((r) => r.typeUrl === typeUrl);
  }

  subscribe(typeUrl: string, names: string[]): void {
    const set = this.subscribedSet(typeUrl);
    for (const n of names) set.add(n);
    this.send({ type_url: typeUrl, resource_names_subscribe: names });
  }

  unsubscribe(typeUrl: string, names: string[]): void {
    const set = this.subscribedSet(typeUrl);
    const held = this.held.get(typeUrl);
    for (const n of names) {
      set.delete(n);
      held?.delete(n);
    }
    this.send({ type_url: typeUrl, resource_names_unsubscribe: names });
  }

  waitFor(condition: (driver: this) => boolean, what: string, timeoutMs?: number): Promise<void> {
    return this.waiter.waitFor(() => condition(this), what, timeoutMs);
  }

  /** Waits until the stream has been quiet: no response for `quietMs`. */
  async settle(quietMs = 150): Promise<void> {
    let count = -1;
    while (count !== this.received.length) {
      count = this.received.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  private subscribedSet(typeUrl: string): Set<string> {
    let set = this.subscribed.get(typeUrl);
    if (!set) this.subscribed.set(typeUrl, (set = new Set()));
    return set;
  }

  private start(typeUrl: string, names: string[], initial?: Record<string, string>): void {
    this.started.add(typeUrl);
    for (const n of names) this.subscribedSet(typeUrl).add(n);
    this.send({
      type_url: typeUrl,
      resource_names_subscribe: names,
      ...(initial && Object.keys(initial).length > 0 ? { initial_resource_versions: initial } : {}),
    });
  }

  private send(req: DeltaDiscoveryRequest): void {
    if (!this.stream) throw new Error('driver is not connected');
    const withNode = this.nodeSent ? req : { node: this.node, ...req };
    this.nodeSent = true;
    this.sent.push(withNode);
    this.stream.write(withNode);
  }

  private onResponse(res: DeltaDiscoveryResponse): void {
    const typeUrl = res.type_url ?? '';
    const resources = (res.resources ?? []).map((r) => ({
      name: r.name ?? '',
      version: r.version ?? '',
      body: Buffer.from(r.resource?.value ?? []),
    }));
    const removed = res.removed_resources ?? [];
    const problem = this.reject?.(typeUrl, resources);
    this.received.push({
      typeUrl,
      nonce: res.nonce ?? '',
      systemVersion: res.system_version_info ?? '',
      resources: resources.map(({ name, version }) => ({ name, version })),
      removed,
      answer: problem ? 'nack' : 'ack',
    });
    if (problem) {
      this.send({ type_url: typeUrl, response_nonce: res.nonce ?? '', error_detail: { code: grpc.status.INTERNAL, message: problem } });
      this.waiter.notify();
      return;
    }
    let held = this.held.get(typeUrl);
    if (!held) this.held.set(typeUrl, (held = new Map()));
    for (const r of resources) {
      held.set(r.name, { version: r.version, body: r.body });
      this.answered.add(`${typeUrl}|${r.name}`);
    }
    for (const name of removed) {
      held.delete(name);
      this.answered.add(`${typeUrl}|${name}`);
    }
    this.send({ type_url: typeUrl, response_nonce: res.nonce ?? '' });
    this.follow(typeUrl);
    this.waiter.notify();
  }

  /** Subscribes to what the held clusters and listeners need, and starts LDS once clusters are warm. */
  private follow(typeUrl: string): void {
    const dependent = DEPENDENT[typeUrl];
    if (dependent) {
      const want = new Set(dependentNames(typeUrl, [...this.holds(typeUrl).values()].map((r) => r.body)));
      const have = this.subscribedSet(dependent);
      const add = [...want].filter((n) => !have.has(n));
      const drop = [...have].filter((n) => !want.has(n));
      if (add.length > 0 || drop.length > 0) {
        for (const n of add) have.add(n);
        for (const n of drop) {
          have.delete(n);
          const held = this.held.get(dependent);
          held?.delete(n);
          // A VHDS namespace given up takes its virtual hosts with it.
          if (dependent === TYPE_URL.virtualHost) for (const name of [...(held?.keys() ?? [])]) if (namespaceOf(name) === n) held?.delete(name);
        }
        this.started.add(dependent);
        this.send({
          type_url: dependent,
          ...(add.length ? { resource_names_subscribe: add } : {}),
          ...(drop.length ? { resource_names_unsubscribe: drop } : {}),
        });
      }
    }
    if (!this.started.has(TYPE_URL.listener) && this.clustersWarm()) this.start(TYPE_URL.listener, []);
  }

  private clustersWarm(): boolean {
    if (!this.received.some((r) => r.typeUrl === TYPE_URL.cluster)) return false;
    for (const name of this.subscribed.get(TYPE_URL.endpoint) ?? []) {
      if (!this.answered.has(`${TYPE_URL.endpoint}|${name}`)) return false;
    }
    return true;
  }
}
