/**
 * A lean reader for ADS responses: the simulated Envoys need the version, nonce, type and how many resources
 * (and, on delta, their names) but not the resource bodies, so the protobuf wire format is walked without
 * decoding any Any. Decoding 2,000 clusters per response in the load generator would measure the client.
 */

export interface SotwHead {
  kind: 'sotw';
  version: string;
  typeUrl: string;
  nonce: string;
  resources: number;
  bytes: number;
}

export interface DeltaHead {
  kind: 'delta';
  version: string;
  typeUrl: string;
  nonce: string;
  resources: number;
  names: string[];
  removed: string[];
  bytes: number;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }

  /** Returns [start, end) of a length-delimited field's payload and skips it. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.buf.length) throw new Error('truncated field');
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.bytes();
    return this.buf.toString('utf8', s, e);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

/** DiscoveryResponse { version_info = 1; resources = 2; type_url = 4; nonce = 5 }. */
export function readSotwResponse(buf: Buffer): SotwHead {
  const r = new Reader(buf);
  const out: SotwHead = { kind: 'sotw', version: '', typeUrl: '', nonce: '', resources: 0, bytes: buf.length };
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === 2) out.version = r.string();
    else if (field === 2 && wt === 2) {
      r.bytes();
      out.resources++;
    } else if (field === 4 && wt === 2) out.typeUrl = r.string();
    else if (field === 5 && wt === 2) out.nonce = r.string();
    else r.skip(wt);
  }
  return out;
}

/** Resource { version = 1; resource = 2; name = 3 }: only the name is read. */
function resourceName(buf: Buffer, start: number, end: number): string {
  const r = new Reader(buf.subarray(start, end));
  while (!r.done) {
    const tag = r.varint();
    if (tag === ((3 << 3) | 2)) return r.string();
    r.skip(tag & 7);
  }
  return '';
}

/** DeltaDiscoveryResponse { system_version_info = 1; resources = 2; type_url = 4; nonce = 5; removed_resources = 6 }. */
export function readDeltaResponse(buf: Buffer): DeltaHead {
  const r = new Reader(buf);
  const out: DeltaHead = { kind: 'delta', version: '', typeUrl: '', nonce: '', resources: 0, names: [], removed: [], bytes: buf.length };
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === 2) out.version = r.string();
    else if (field === 2 && wt === 2) {
      const [s, e] = r.bytes();
      out.resources++;
      out.names.push(resourceName(buf, s, e));
    } else if (field === 4 && wt === 2) out.typeUrl = r.string();
    else if (field === 5 && wt === 2) out.nonce = r.string();
    else if (field === 6 && wt === 2) out.removed.push(r.string());
    else r.skip(wt);
  }
  return out;
}

/** The no-op fan-out server's only method (raw bytes both ways; see noop-server.ts). */
export const NOOP_METHOD = '/tollgate.bench.Noop/Stream';
