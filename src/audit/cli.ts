import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { exportAudit } from './export.js';
import { parseTimeSpec } from './time-spec.js';
import { formatBreak, verifyAuditDir } from './verify.js';
import { verifyRedisFleet } from './verify-redis.js';

export const auditHelp = `Usage: tollgate audit verify [--data DIR | --redis URL [--redis-prefix P]]
       tollgate audit export --since 24h|ISO [--until 24h|ISO] [--format jsonl] [--data DIR]

Verifies the audit log's hash chain, or exports audit records as JSONL for a SIEM.

  verify   Checks every segment in DIR/audit: headers, seq, prev_hash and hash of each record, links
           between segments. Exits 0 when intact; otherwise names the first broken record and exits 1.
           With --redis, checks every replica's chain as shipped to Redis instead.
  export   Writes the records whose time is in [--since, --until) to stdout, oldest first, one JSON
           object per line, with seq, prev_hash and hash.

Options:
  --data DIR       data directory (default TOLLGATE_DATA_DIR, else ./data)
  --redis URL      verify the fleet's copy in Redis (TOLLGATE_REDIS_URL forms); --redis-prefix as TOLLGATE_REDIS_PREFIX
  --since T        a duration back from now (90s, 30m, 24h, 7d, 2w) or an ISO-8601 time
  --until T        same forms; default now
  --format jsonl   the only format`;

const verifyHelp = `Usage: tollgate audit verify [--data DIR | --redis URL [--redis-prefix P]]

Checks the audit log's hash chain in DIR/audit (default ./data/audit), streaming (bounded memory whatever
the size of a segment or record). Exits 0 when intact; otherwise prints the first broken record (segment
file, line, seq, reason) and exits 1. Segments that recovery quarantined (DIR/audit/quarantine) are
checked in their place in the chain; each is named with its first damaged line, and also exits 1.

With --redis URL (redis://, rediss://, redis+sentinel://, redis+cluster://), checks instead every replica's
chain as shipped to Redis Streams: seq, prev_hash and hash of each record, and the shipped segment headers.
A chain that starts after seq 1 (trimmed behind what the replica still holds) is a note, a missing record in
the middle is a break. Exits 0 when every replica's chain verifies, 1 otherwise.`;

const exportHelp = `Usage: tollgate audit export --since 24h|ISO [--until 24h|ISO] [--format jsonl] [--data DIR]

Writes audit records whose time is in [--since, --until) to stdout as JSONL, oldest first, exactly as
stored (with seq, prev_hash and hash). --since and --until take a duration back from now (90s, 30m,
24h, 7d, 2w) or an ISO-8601 time.`;

export interface AuditCommandIo {
  stdout: Writable;
  stderr: Writable;
}

/** `tollgate audit verify|export`; returns the exit code (0 ok, 1 broken chain or unreadable log, 2 usage). */
export async function auditCommand(argv: string[], io: AuditCommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [sub, ...rest] = argv;
  const say = (s: string) => void io.stdout.write(`${s}\n`);
  const complain = (s: string) => void io.stderr.write(`${s}\n`);
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub ? say : complain)(auditHelp);
    return sub ? 0 : 2;
  }
  if (sub !== 'verify' && sub !== 'export') {
    complain(`tollgate audit: unknown subcommand "${sub}"\n\n${auditHelp}`);
    return 2;
  }
  let values: { help?: boolean; data?: string; since?: string; until?: string; format?: string; redis?: string; 'redis-prefix'?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        data: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        format: { type: 'string' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
      },
    }));
    if (sub === 'verify' && (values.since || values.until || values.format)) throw new Error('--since, --until and --format belong to export');
    if (sub === 'export' && values.redis) throw new Error('--redis belongs to verify');
  } catch (err) {
    complain(`tollgate audit ${sub}: ${(err as Error).message}\n\n${sub === 'verify' ? verifyHelp : exportHelp}`);
    return 2;
  }
  if (values.help) {
    say(sub === 'verify' ? verifyHelp : exportHelp);
    return 0;
  }
  if (values.redis) return verifyRedis(values.redis, values['redis-prefix'] ?? process.env.TOLLGATE_REDIS_PREFIX ?? 'tollgate:', say, complain);
  // The same data directory serve uses: --data, else TOLLGATE_DATA_DIR, else ./data.
  const dir = join(values.data ?? process.env.TOLLGATE_DATA_DIR ?? './data', 'audit');
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch {
    complain(`tollgate audit ${sub}: no audit log at ${dir}`);
    return 1;
  }
  return sub === 'verify' ? verify(dir, say, complain) : exportTo(dir, values, io, complain);
}

async function verify(dir: string, say: (s: string) => void, complain: (s: string) => void): Promise<number> {
  const report = await verifyAuditDir(dir);
  for (const note of report.notes) say(`note: ${note}`);
  for (const q of report.quarantined ?? []) complain(`${dir}: QUARANTINED (kept whole, set aside by recovery) ${formatBreak(q)}`);
  if (!report.ok && report.broken) {
    complain(`${dir}: BROKEN at ${formatBreak(report.broken)}`);
    complain(`(${report.records} records verified before it)`);
    return 1;
  }
  if (!report.ok) {
    complain(`${dir}: the chain verifies around ${report.quarantined?.length ?? 0} quarantined segment(s) (${report.records} records); inspect them, then keep them with the evidence`);
    return 1;
  }
  const range = report.first_seq !== undefined && report.last_seq !== undefined && report.last_seq >= report.first_seq ? `, seq ${report.first_seq}..${report.last_seq}` : '';
  say(`${dir}: ok, ${report.records} records in ${report.segments} segments${range}`);
  return 0;
}

async function exportTo(dir: string, values: { since?: string; until?: string; format?: string }, io: AuditCommandIo, complain: (s: string) => void): Promise<number> {
  if ((values.format ?? 'jsonl') !== 'jsonl') {
    complain(`tollgate audit export: unsupported --format "${values.format}" (only jsonl)`);
    return 2;
  }
  if (!values.since) {
    complain(`tollgate audit export: --since is required\n\n${exportHelp}`);
    return 2;
  }
  const now = Date.now();
  const since = parseTimeSpec(values.since, now);
  const until = values.until === undefined ? undefined : parseTimeSpec(values.until, now);
  if (since === undefined || (values.until !== undefined && until === undefined)) {
    complain(`tollgate audit export: --since/--until take a duration (24h, 7d) or an ISO-8601 time, got "${since === undefined ? values.since : values.until}"`);
    return 2;
  }
  let chunk = '';
  for await (const line of exportAudit(dir, { since, until, oversized: true })) {
    chunk += line;
    if (chunk.length >= 64 * 1024) {
      if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
      chunk = '';
    }
  }
  if (chunk && !io.stdout.write(chunk)) await once(io.stdout, 'drain');
  return 0;
}

async function verifyRedis(url: string, prefix: string, say: (s: string) => void, complain: (s: string) => void): Promise<number> {
  const lines = await verifyRedisFleet(url, prefix).catch((err: Error) => ({ ok: false, out: [] as string[], err: [`tollgate audit verify: ${err.message}`] }));
  for (const l of lines.out) say(l);
  for (const l of lines.err) complain(l);
  return lines.ok ? 0 : 1;
}
