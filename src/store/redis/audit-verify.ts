import type { Cluster, Redis } from 'ioredis';
import { headerHash, parseHeader, type SegmentHeader } from '../../audit/chain.js';
import type { AuditBreak, AuditVerifyReport } from '../audit-store.js';
import { checkLine } from '../embedded/audit-index.js';
import { auditKeys, replicasKey, seqOfId } from './audit-keys.js';

export interface ReplicaVerifyReport extends AuditVerifyReport {
  replica: string;
}

export interface FleetVerifyReport {
  ok: boolean;
  replicas: ReplicaVerifyReport[];
}

type Entry = [id: string, fields: string[]];

/** Reads one day stream oldest first, in pages. */
class Forward {
  private buf: Entry[] = [];
  private from = '-';
  private done = false;
  constructor(
    private readonly redis: Redis | Cluster,
    readonly key: string,
  ) {}
  async head(): Promise<Entry | undefined> {
    if (this.buf.length === 0 && !this.done) {
      const page = (await this.redis.xrange(this.key, this.from, '+', 'COUNT', 1000)) as Entry[];
      if (page.length < 1000) this.done = true;
      if (page.length) this.from = `(${page.at(-1)![0]}`;
      this.buf = page;
    }
    return this.buf[0];
  }
  take(): Entry {
    return this.buf.shift()!;
  }
}

/** Verifies every replica's chain as shipped to Redis (`tollgate audit verify --redis`). */
export async function verifyFleet(redis: Redis | Cluster, prefix = 'tollgate', signal?: AbortSignal): Promise<FleetVerifyReport> {
  const replicas = (await redis.smembers(replicasKey(prefix))).sort();
  const out: ReplicaVerifyReport[] = [];
  for (const r of replicas) out.push({ replica: r, ...(await verifyReplica(redis, prefix, r, signal)) });
  return { ok: out.every((r) => r.ok), replicas: out };
}

/**
 * Walks one replica's records in seq order across its day streams: each record's seq, prev_hash and hash, and at each
 * segment boundary the shipped segment header (first seq, link to the previous segment's last hash). The chain may
 * start after seq 1 (trimmed); a missing seq in the middle is a break.
 */
export async function verifyReplica(redis: Redis | Cluster, prefix: string, replica: string, signal?: AbortSignal): Promise<AuditVerifyReport> {
  const keys = auditKeys(prefix, replica);
  const days = await redis.zrange(keys.days, 0, -1);
  const headerText = await redis.hgetall(keys.segments);
  const headers = new Map<number, SegmentHeader>();
  for (const [k, v] of Object.entries(headerText)) {
    const h = parseHeader(v);
    if (h) headers.set(Number(k), h);
  }
  const report: AuditVerifyReport = { ok: true, segments: headers.size, records: 0, notes: [] };
  const streams = days.map((d) => new Forward(redis, keys.stream(d)));
  const counts = new Map<string, number>();
  let expectedSeq: number | undefined;
  let prevHash = '';
  let segment: number | undefined;
  const fail = (b: AuditBreak): AuditVerifyReport => ({ ...report, ok: false, broken: b });
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    let best: Forward | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const s of streams) {
      const e = await s.head();
      if (e && seqOfId(e[0]) < bestSeq) {
        bestSeq = seqOfId(e[0]);
        best = s;
      }
    }
    if (!best) break;
    const [id, fields] = best.take();
    const line = (counts.get(best.key) ?? 0) + 1;
    counts.set(best.key, line);
    const f = fieldsOf(fields);
    const seq = seqOfId(id);
    const seg = Number(f.s);
    const at = { segment: best.key, line, seq };
    if (expectedSeq !== undefined && seq !== expectedSeq) {
      return fail({ ...at, seq: expectedSeq, reason: 'seq_mismatch', message: `the next record in Redis is seq ${seq}, expected ${expectedSeq} (records missing from the fleet copy)` });
    }
    if (seg !== segment) {
      const h = headers.get(seg);
      if (!h) {
        if (expectedSeq !== undefined) return fail({ ...at, reason: 'bad_header', message: `no shipped header for segment ${seg}` });
        report.notes.push(`${replica}: the chain in Redis starts at seq ${seq} inside segment ${seg} (older records trimmed)`);
        prevHash = parseRecordPrev(f.r) ?? '';
      } else if (seq === h.first_seq) {
        if (expectedSeq !== undefined && h.prev_segment_hash !== prevHash) {
          return fail({ ...at, reason: 'segment_link_mismatch', message: `segment ${seg} links to ${h.prev_segment_hash}, not the previous record's hash ${prevHash}` });
        }
        if (expectedSeq === undefined && seq !== 1) report.notes.push(`${replica}: the chain in Redis starts at seq ${seq} (older records trimmed)`);
        prevHash = headerHash(h);
      } else if (expectedSeq === undefined) {
        report.notes.push(`${replica}: the chain in Redis starts at seq ${seq} inside segment ${seg} (older records trimmed)`);
        prevHash = parseRecordPrev(f.r) ?? '';
      } else {
        return fail({ ...at, reason: 'segment_link_mismatch', message: `seq ${seq} is in segment ${seg}, which starts at seq ${h.first_seq}` });
      }
      segment = seg;
    }
    if (f.r?.includes('"shipped_stub":true')) {
      // A legacy record too long to ship whole: only its place in the chain can be checked here.
      const m = JSON.parse(f.r) as { prev_hash?: string; hash?: string };
      if (m.prev_hash !== prevHash) return fail({ ...at, reason: 'prev_hash_mismatch', message: `prev_hash ${m.prev_hash} is not the previous record's hash ${prevHash}` });
      report.notes.push(`${replica}: seq ${seq} was shipped as a stub (a record longer than 8 MiB); its hash is checked by the local verify only`);
      prevHash = m.hash ?? '';
    } else {
      const check = checkLine({ text: f.r ?? '', start: 0, end: 0, line, terminated: true }, prevHash, seq);
      if (!check.ok) return fail({ ...at, reason: check.reason, message: check.message });
      if (f.h !== check.hash) return fail({ ...at, reason: 'hash_mismatch', message: `the entry's hash field ${f.h} is not the record's hash ${check.hash}` });
      prevHash = check.hash;
    }
    report.first_seq ??= seq;
    report.last_seq = seq;
    report.records++;
    expectedSeq = seq + 1;
  }
  return report;
}

function fieldsOf(fields: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i]!] = fields[i + 1]!;
  return o;
}

function parseRecordPrev(line: string | undefined): string | undefined {
  if (!line) return undefined;
  const at = line.indexOf('"prev_hash":"');
  return at === -1 ? undefined : line.slice(at + 13, at + 13 + 64);
}
