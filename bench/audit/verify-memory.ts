/**
 * Audit verify memory (issue 9): peak RSS of `tollgate audit verify` on a 200 MB segment, two shapes:
 *   many_records  ~200 MB of ordinary records (about 330 bytes each)
 *   one_record    one record of ~200 MB (a finding flood stored before records were capped at 64 KiB)
 * Each runs `audit verify` in a child process that reports its own peak RSS. Floor: a child that only loads the CLI.
 *
 *   npx tsx bench/audit/verify-memory.ts [--mb 200] [--root DIR]   (--root: another checkout to compare, e.g. the code before the fix)
 *
 * Writes bench/results/audit-verify-memory.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { canonicalJson, hashCanonical, headerHash, ZERO_HASH, type SegmentHeader } from '../../src/audit/chain.js';
import { writeResult } from '../lib/results.js';

const { values: flags } = parseArgs({ options: { mb: { type: 'string', default: '200' }, root: { type: 'string' } } });
const targetBytes = Number(flags.mb) * 1e6;
const root = resolve(flags.root ?? new URL('../..', import.meta.url).pathname);

function segmentWriter(dataDir: string) {
  const dir = join(dataDir, 'audit');
  mkdirSync(dir, { recursive: true });
  const header: SegmentHeader = { audit_segment: 1, first_seq: 1, created: new Date().toISOString(), prev_segment_hash: ZERO_HASH };
  const fd = openSync(join(dir, 'audit-0000000000000001.jsonl'), 'w');
  writeSync(fd, `${JSON.stringify(header)}\n`);
  return { fd, prev: headerHash(header) };
}

const base = (i: number) => ({ time: new Date(Date.parse('2026-11-25T00:00:00Z') + i).toISOString(), request_id: `req-${i}`, decision_id: `dec-${i}`, identity: 'billing', destination: 'api.stripe.com:443', method: 'POST', path_template: '/v1/charges/{id}' });

function manyRecords(dataDir: string): number {
  const w = segmentWriter(dataDir);
  let bytes = 0;
  let seq = 1;
  let chunk = '';
  while (bytes < targetBytes) {
    const canonical = canonicalJson({ ...base(seq), kind: 'decision', verdict: 'allow', mode: 'enforce', rule: 'stripe-api', reason: 'matched', latency_us: 40, policy_version: 1, seq, prev_hash: w.prev });
    const hash = hashCanonical(w.prev, canonical);
    const line = `${canonical.slice(0, -1)},"hash":"${hash}"}\n`;
    chunk += line;
    bytes += line.length;
    w.prev = hash;
    seq++;
    if (chunk.length > 1 << 20) {
      writeSync(w.fd, chunk);
      chunk = '';
    }
  }
  writeSync(w.fd, chunk);
  closeSync(w.fd);
  return seq - 1;
}

/** One scrub record with as many findings as fit in the target size, written and hashed in pieces (never one string). */
function oneRecord(dataDir: string): number {
  const w = segmentWriter(dataDir);
  const rec = { ...base(1), kind: 'scrub', outcome: 'scrubbed', bytes_scanned: targetBytes, body_mode: 'streamed', seq: 1, prev_hash: w.prev };
  const full = canonicalJson({ ...rec, findings: ['@@'] });
  const [head, tail] = full.split('"@@"') as [string, string];
  const h = createHash('sha256').update(w.prev).update(head);
  writeSync(w.fd, head);
  let bytes = head.length;
  let chunk = '';
  for (let i = 0; bytes < targetBytes; i++) {
    const el = `${i ? ',' : ''}${canonicalJson({ type: 'email', action: 'redact', where: `json:$.rows[${i}].email`, fingerprint: `fp${i.toString(16).padStart(14, '0')}` })}`;
    chunk += el;
    bytes += el.length;
    if (chunk.length > 1 << 20) {
      h.update(chunk);
      writeSync(w.fd, chunk);
      chunk = '';
    }
  }
  h.update(chunk).update(tail);
  const hash = h.digest('hex');
  writeSync(w.fd, `${chunk}${tail.slice(0, -1)},"hash":"${hash}"}\n`);
  closeSync(w.fd);
  return 1;
}

function verifyRss(dataDir: string | undefined): { exit: number | null; maxRssMiB: number; ms: number; out: string } {
  const script = `const m = await import(${JSON.stringify(join(root, 'src/audit/cli.ts'))});
const code = ${dataDir ? `await m.auditCommand(['verify', '--data', ${JSON.stringify(dataDir)}])` : '0'};
process.stderr.write('RSS ' + process.resourceUsage().maxRSS + '\\n');
process.exitCode = code;`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const rss = /RSS (\d+)/.exec(r.stderr ?? '');
  return { exit: r.status, maxRssMiB: rss ? Math.round(Number(rss[1]) / 1024) : Number.NaN, ms: Date.now() - started, out: `${r.stdout}${r.stderr}`.trim().split('\n').slice(-2).join(' | ').slice(0, 300) };
}

const results: Record<string, unknown> = { root, segment_mb: Number(flags.mb), floor: verifyRss(undefined) };
for (const [name, make] of [['many_records', manyRecords], ['one_record', oneRecord]] as const) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-verify-mem-'));
  try {
    const records = make(dataDir);
    results[name] = { records, ...verifyRss(dataDir) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(name, JSON.stringify(results[name]));
}
console.log('floor', JSON.stringify(results.floor));
console.log(`wrote ${writeResult(flags.root ? 'audit-verify-memory-other' : 'audit-verify-memory', results)}`);
