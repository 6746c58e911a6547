import { createHash, type Hash } from 'node:crypto';

/** Stored lines end with `,"hash":"<64 hex>"}`; the hash covers the line without that suffix, closed by `}`. */
export const HASH_SUFFIX_BYTES = 75;
/** Top-level members longer than this are not kept when reading an oversized line. */
const MAX_MEMBER_BYTES = 4096;

/** What streaming reads learn about a line too long to hold in memory: its top-level small members and, if seeded, its chain hash. */
export interface OversizedLine {
  bytes: number;
  /** Top-level members of at most 4 KiB each, parsed; larger ones are only named in `omitted`. */
  members: Record<string, unknown>;
  /** Names and sizes of the top-level members too large to keep. */
  omitted: Record<string, number>;
  /** SHA-256 over the seed and the line without its hash suffix (closed by `}`): equals the stored hash when the line is intact. */
  computedHash?: string;
  /** The line's own suffix is `,"hash":"<hex>"}`. */
  suffixOk: boolean;
  /** The bytes formed one JSON object (braces, brackets and strings balanced). */
  wellFormed: boolean;
}

/**
 * Consumes one JSON line chunk by chunk in O(1) memory (beyond the small members it keeps): tracks strings and nesting
 * to cut top-level members apart, and hashes the bytes the writer hashed. Costs one pass over the bytes.
 */
export class OversizedLineReader {
  private bytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private broken = false;
  private member: Buffer[] = [];
  private memberBytes = 0;
  private memberOverflow = false;
  private readonly members: Record<string, unknown> = {};
  private readonly omitted: Record<string, number> = {};
  private readonly hash: Hash | undefined;
  private held = Buffer.alloc(0);

  constructor(seed?: string) {
    if (seed !== undefined) this.hash = createHash('sha256').update(seed);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    if (this.hash) {
      // Hold back the last HASH_SUFFIX_BYTES: they are the suffix, not hashed.
      const all = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
      const cut = Math.max(0, all.length - HASH_SUFFIX_BYTES);
      if (cut > 0) this.hash.update(all.subarray(0, cut));
      this.held = Buffer.from(all.subarray(cut));
    }
    let from = this.depth >= 1 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        this.depth++;
        if (this.depth === 1) from = i + 1;
      } else if (c === 0x7d || c === 0x5d) {
        if (this.depth === 1) {
          this.take(chunk.subarray(from, i));
          this.endMember();
          from = -1;
        }
        this.depth--;
        if (this.depth < 0) this.broken = true;
      } else if (c === 0x2c && this.depth === 1) {
        this.take(chunk.subarray(from, i));
        this.endMember();
        from = i + 1;
      }
    }
    if (from !== -1 && this.depth >= 1) this.take(chunk.subarray(from));
  }

  finish(): OversizedLine {
    const suffix = this.held.toString('latin1');
    const suffixOk = /^,"hash":"[0-9a-f]{64}"\}$/.test(suffix);
    return {
      bytes: this.bytes,
      members: this.members,
      omitted: this.omitted,
      computedHash: this.hash ? this.hash.update('}').digest('hex') : undefined,
      suffixOk,
      wellFormed: !this.broken && this.depth === 0 && !this.inString,
    };
  }

  private take(part: Buffer): void {
    this.memberBytes += part.length;
    if (this.memberOverflow) return;
    if (this.memberBytes > MAX_MEMBER_BYTES) {
      this.memberOverflow = true;
      // Keep the start: it names the member.
      this.member.push(Buffer.from(part.subarray(0, 512)));
      return;
    }
    this.member.push(Buffer.from(part));
  }

  private endMember(): void {
    const text = Buffer.concat(this.member).toString('utf8');
    const size = this.memberBytes;
    this.member = [];
    this.memberBytes = 0;
    const overflow = this.memberOverflow;
    this.memberOverflow = false;
    if (!overflow) {
      if (text.trim() === '') return;
      try {
        Object.assign(this.members, JSON.parse(`{${text}}`) as Record<string, unknown>);
      } catch {
        this.broken = true;
      }
      return;
    }
    const key = /^\s*"((?:[^"\\]|\\.)*)"\s*:/.exec(text);
    if (key) this.omitted[key[1]!] = size;
    else this.broken = true;
  }
}
