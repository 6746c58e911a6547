import * as grpc from '@grpc/grpc-js';
import type { Node } from '../../src/proto/gen/envoy/config/core/v3/base.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/gen/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/xds/types.js';
import { openAdsStream, streamStatus, Waiter } from './ads-client.js';
import { dependentNames, resourceNameOf } from './envoy-dependencies.js';

export interface SotwReceived {
  typeUrl: string;
  nonce: string;
  version: string;
  names: string[];
  answer: 'ack' | 'nack';
}

export interface SotwDriverOptions {
  address: string;
  node: Node;
  reject?: (typeUrl: string, resources: ReadonlyArray<{ name: string; body: Buffer }>) => string | undefined;
  /** Decodes a resource's name from its body (the SotW response carries bare Anys); default: decode the Envoy type. */
  nameOf?: (typeUrl: string, body: Buffer) => string;
}

interface TypeState {
  version: string;
  nonce: string;
  names: string[];
  held: Map<string, Buffer>;
}

const DEPENDENT: Record<string, string> = { [TYPE_URL.cluster]: TYPE_URL.endpoint, [TYPE_URL.listener]: TYPE_URL.route };
const WILDCARD = new Set<string>([TYPE_URL.cluster, TYPE_URL.listener]);

/**
 * A small test driver speaking state-of-the-world ADS like Envoy: CDS wildcard first, EDS by name, LDS after the
 * clusters are warm, RDS by name; ACK echoes version and nonce with the same names, NACK sends the last good version,
 * the new nonce and error_detail code 13.
 */
export class XdsSotwDriver {
  readonly received: SotwReceived[] = [];
  reject: SotwDriverOptions['reject'];
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly options: SotwDriverOptions;
  private readonly types = new Map<string, TypeState>();
  private readonly waiter = new Waiter();
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private nodeSent = false;

  constructor(options: SotwDriverOptions) {
    this.options = options;
    this.reject = options.reject;
    this.client = new grpc.Client(options.address, grpc.credentials.createInsecure());
  }

  connect(): void {
    const stream = openAdsStream<DiscoveryRequest, DiscoveryResponse>(this.client, 'StreamAggregatedResources');
    this.stream = stream;
    this.nodeSent = false;
    void streamStatus(stream).then((s) => {
      this.status = s;
      this.waiter.notify();
    });
    stream.on('data', (res: DiscoveryResponse) => this.onResponse(res));
    this.request(TYPE_URL.cluster, []);
  }

  close(): void {
    this.stream?.cancel();
    this.client.close();
  }

  holds(typeUrl: string): ReadonlyMap<string, Buffer> {
    return this.types.get(typeUrl)?.held ?? new Map();
  }

  versionOf(typeUrl: string): string {
    return this.types.get(typeUrl)?.version ?? '';
  }

  responsesOf(typeUrl: string): SotwReceived[] {
    return this.received.filter((r) => r.typeUrl === typeUrl);
  }

  /** Changes the names of a type as Envoy does: a new request with the last version and nonce. */
  request(typeUrl: string, names: string[]): void {
    const state = this.state(typeUrl);
    state.names = names;
    this.send({ type_url: typeUrl, version_info: state.version, response_nonce: state.nonce, resource_names: names });
  }

  waitFor(condition: (driver: this) => boolean, what: string, timeoutMs?: number): Promise<void> {
    return this.waiter.waitFor(() => condition(this), what, timeoutMs);
  }

  async settle(quietMs = 150): Promise<void> {
    let count = -1;
    while (count !== this.received.length) {
      count = this.received.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  private state(typeUrl: string): TypeState {
    let s = this.types.get(typeUrl);
    if (!s) this.types.set(typeUrl, (s = { version: '', nonce: '', names: [], held: new Map() }));
    return s;
  }

  private send(req: DiscoveryRequest): void {
    if (!this.stream) throw new Error('driver is not connected');
    const withNode = this.nodeSent ? req : { node: this.options.node, ...req };
    this.nodeSent = true;
    this.stream.write(withNode);
  }

  private onResponse(res: DiscoveryResponse): void {
    const typeUrl = res.type_url ?? '';
    const state = this.state(typeUrl);
    const resources = (res.resources ?? []).map((a) => {
      const body = Buffer.from(a.value ?? []);
      return { name: (this.options.nameOf ?? resourceNameOf)(typeUrl, body), body };
    });
    const problem = this.reject?.(typeUrl, resources);
    const nonce = res.nonce ?? '';
    this.received.push({ typeUrl, nonce, version: res.version_info ?? '', names: resources.map((r) => r.name), answer: problem ? 'nack' : 'ack' });
    state.nonce = nonce;
    if (problem) {
      this.send({
        type_url: typeUrl,
        version_info: state.version,
        response_nonce: nonce,
        resource_names: state.names,
        error_detail: { code: grpc.status.INTERNAL, message: problem },
      });
      this.waiter.notify();
      return;
    }
    // LDS and CDS responses are the whole set; RDS and EDS responses add to what is held.
    if (WILDCARD.has(typeUrl)) state.held = new Map();
    for (const r of resources) state.held.set(r.name, r.body);
    state.version = res.version_info ?? '';
    this.send({ type_url: typeUrl, version_info: state.version, response_nonce: nonce, resource_names: state.names });
    this.follow(typeUrl);
    this.waiter.notify();
  }

  private follow(typeUrl: string): void {
    const dependent = DEPENDENT[typeUrl];
    if (dependent) {
      const want = dependentNames(typeUrl, this.holds(typeUrl).values());
      const current = this.types.get(dependent)?.names ?? [];
      if (want.join('\n') !== [...current].sort().join('\n') && (want.length > 0 || this.types.has(dependent))) this.request(dependent, want);
    }
    if (!this.types.has(TYPE_URL.listener) && this.clustersWarm()) this.request(TYPE_URL.listener, []);
  }

  private clustersWarm(): boolean {
    if (!this.received.some((r) => r.typeUrl === TYPE_URL.cluster && r.answer === 'ack')) return false;
    const eds = this.types.get(TYPE_URL.endpoint);
    return !eds || eds.names.every((n) => eds.held.has(n));
  }
}
