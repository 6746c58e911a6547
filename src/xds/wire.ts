/**
 * A minimal protobuf writer for the hot paths (the bulk resources of a snapshot, response envelopes). It writes fields
 * in the order it is called, so callers write them by field number, as protobufjs does: the output is byte for byte
 * what `encodeMessage` gives for the same message (tests compare them).
 *
 * Nested messages reserve one length byte and move their content when it turns out longer than 127 bytes, so there
 * is no sizing pass and no per-field allocation.
 */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An unsigned varint (up to 2^32 - 1, what tags, lengths, enums >= 0 and uint32 fields need). */
  varint(value: number): this {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 127) {
      buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[this.pos++] = v;
    return this;
  }

  /** A varint field (uint32, bool, or an enum value >= 0). */
  uint32(field: number, value: number): this {
    return this.varint(field << 3).varint(value);
  }

  string(field: number, value: string): this {
    this.varint((field << 3) | 2);
    this.ensure(value.length * 3 + 5);
    const start = this.pos + 1;
    const n = this.buf.write(value, start);
    this.pos = start + n;
    this.fixLength(start, n);
    return this;
  }

  /** A length-delimited field holding bytes (or an already encoded message). */
  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2).varint(value.length);
    return this.raw(value);
  }

  /** Bytes copied as they are (e.g. an already encoded field). */
  raw(value: Uint8Array): this {
    const n = value.length;
    this.ensure(n);
    if (n > 64) {
      this.buf.set(value, this.pos);
      this.pos += n;
      return this;
    }
    // Short pieces by hand: cheaper than a native call.
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = value[i]!;
    this.pos = at;
    return this;
  }

  /** A string's UTF-8 bytes encoded once (see Utf8), inside a field started with begin(). */
  utf8(value: Utf8): this {
    const n = value.length;
    this.ensure(n);
    const src = value.buf;
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < n; i++) buf[at++] = src[i]!;
    this.pos = at;
    return this;
  }

  /** A string field from bytes encoded once (proto3: the caller leaves out empty strings outside oneofs). */
  utf8Field(field: number, value: Utf8): this {
    return this.varint((field << 3) | 2).varint(value.length).utf8(value);
  }

  /** ASCII decimal digits of a non-negative integer (e.g. a port inside a string field). */
  decimal(value: number): this {
    const digits = String(value);
    this.ensure(digits.length);
    for (let i = 0; i < digits.length; i++) this.buf[this.pos++] = digits.charCodeAt(i);
    return this;
  }

  /** One ASCII character (inside a string field). */
  char(code: number): this {
    this.ensure(1);
    this.buf[this.pos++] = code;
    return this;
  }

  /** Starts a nested message field; returns the mark `end` needs. */
  begin(field: number): number {
    this.varint((field << 3) | 2);
    this.ensure(1);
    return ++this.pos;
  }

  /** Ends the nested message started at `mark`, writing its length. */
  end(mark: number): this {
    this.fixLength(mark, this.pos - mark);
    return this;
  }

  /** An empty nested message (`{}`), which protobufjs still writes as a present field. */
  empty(field: number): this {
    return this.varint((field << 3) | 2).varint(0);
  }

  // The length byte at start - 1 was reserved; widen it into a longer varint when needed.
  private fixLength(start: number, length: number): void {
    if (length < 128) {
      this.buf[start - 1] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(start + extra, start, start + length);
    let at = start - 1;
    let v = length;
    while (v > 127) {
      this.buf[at++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[at] = v;
    this.pos += extra;
  }

  /** A copy of what was written (the writer can then be reset and reused). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  reset(): this {
    this.pos = 0;
    return this;
  }
}

export function varintSize(value: number): number {
  const v = value >>> 0;
  return v < 1 << 7 ? 1 : v < 1 << 14 ? 2 : v < 1 << 21 ? 3 : v < 1 << 28 ? 4 : 5;
}

/** A string's UTF-8 bytes, encoded once to be written several times (a host appears in several fields). */
export class Utf8 {
  /** The bytes of the last value set are buf[0, length); valid until the next set(). */
  buf = Buffer.allocUnsafe(256);
  length = 0;

  set(value: string): this {
    if (value.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafe(value.length * 3);
    this.length = this.buf.write(value, 0);
    return this;
  }
}
