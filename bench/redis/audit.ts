/**
 * Audit shipping benchmark (issue 10): records per second a replica's shipper moves from its local segments into Redis
 * Streams, against the floor of one XADD awaited per record (one round trip each).
 *
 *   npx tsx bench/redis/audit.ts [--quick] [--records N] [--rounds N]
 *
 * Scenarios, interleaved round by round on the same local log (a fresh key prefix each time, so every run ships all):
 *   xadd_per_round_trip   read the local log, one `XADD <key> <seq>-0 ...` awaited per record (the floor)
 *   shipper_no_pipeline   AuditShipper with one 500-record Lua batch per round trip
 *   shipper_pipelined     AuditShipper as served: 500-record batches, 8 per pipeline
 * Writes bench/results/redis-audit.json: median and spread (min..max) of records/s per scenario, the Redis version.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { AuditShipper } from '../../src/audit/shipper.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { auditKeys, dayOf, entryId } from '../../src/store/redis/audit-keys.js';
import { LocalAuditReader } from '../../src/store/redis/audit-local-reader.js';
import { startRedis } from '../../test/support/redis.js';
import { systemBusy, writeResult } from '../lib/results.js';
import { makeEvent } from '../audit/events.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    records: { type: 'string' },
    rounds: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('Usage: npx tsx bench/redis/audit.ts [--quick] [--records N] [--rounds N]');
  process.exit(0);
}
const RECORDS = Number(flags.records ?? (flags.quick ? 20_000 : 100_000));
const ROUNDS = Number(flags.rounds ?? (flags.quick ? 3 : 5));


const redisVersion = /v=([\d.]+)/.exec(spawnSync('redis-server', ['--version']).stdout.toString())?.[1] ?? 'unknown';
const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-audit-bench-'));
const redis = await startRedis();
const client = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 10_000, lazyConnect: true });
await client.connect();
const store = await EmbeddedAuditStore.open({ dataDir: dir, maintenanceIntervalMs: 0 });
for (let i = 0; i < RECORDS; i += 5000) await store.append(Array.from({ length: Math.min(5000, RECORDS - i) }, (_, k) => makeEvent(i + k, 10)));

let run = 0;
async function floor(): Promise<number> {
  const keys = auditKeys(`bench${run++}`, 'r1');
  const reader = new LocalAuditReader(store.dir);
  reader.seek(1);
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    const b = await reader.read(RECORDS, 500, 1 << 20);
    if (b.records.length === 0) break;
    for (const r of b.records) {
      await client.xadd(keys.stream(dayOf(r.time)!), entryId(r.seq), 's', r.segment, 'h', r.hash, 'r', r.line);
      n++;
    }
  }
  if (n !== RECORDS) throw new Error(`floor shipped ${n} of ${RECORDS}`);
  return RECORDS / ((performance.now() - t0) / 1000);
}

async function shipper(pipelineBatches: number): Promise<number> {
  const s = new AuditShipper({ redis: client, local: store, replica: 'r1', prefix: `bench${run++}`, pipelineBatches, trimEveryMs: 0 });
  rmSync(join(dir, 'audit-ship.json'), { force: true });
  const t0 = performance.now();
  await s.drain();
  const rate = RECORDS / ((performance.now() - t0) / 1000);
  if (s.status().shipped !== RECORDS) throw new Error(`shipper shipped ${s.status().shipped} of ${RECORDS}`);
  return rate;
}

const scenarios: Record<string, () => Promise<number>> = {
  xadd_per_round_trip: floor,
  shipper_no_pipeline: () => shipper(1),
  shipper_pipelined: () => shipper(8),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(scenarios).map((k) => [k, []]));
const busy = await systemBusy(500);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(scenarios)) {
    samples[name]!.push(await fn());
    await client.flushall();
  }
  console.error(`round ${round + 1}/${ROUNDS}: ${Object.entries(samples).map(([k, v]) => `${k} ${Math.round(v.at(-1)!)}/s`).join(', ')}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const results = Object.fromEntries(
  Object.entries(samples).map(([k, v]) => [k, { records_per_s_median: Math.round(median(v)), min: Math.round(Math.min(...v)), max: Math.round(Math.max(...v)), samples: v.map(Math.round) }]),
);
const ratio = median(samples.shipper_pipelined!) / median(samples.xadd_per_round_trip!);
const path = writeResult('redis-audit', {
  redis_version: redisVersion,
  records: RECORDS,
  rounds: ROUNDS,
  record_bytes_avg: Math.round(store.stats().bytes / RECORDS),
  system_busy_before: busy,
  results,
  pipelined_vs_floor: Math.round(ratio * 10) / 10,
  note: 'Redis on loopback, no persistence; records read from the local segments (page cache) in both cases',
});
console.log(JSON.stringify({ redis_version: redisVersion, results, pipelined_vs_floor: Math.round(ratio * 10) / 10 }, null, 2));
console.log(`wrote ${path}`);
await store.close();
client.disconnect();
await redis.stop();
rmSync(dir, { recursive: true, force: true });
