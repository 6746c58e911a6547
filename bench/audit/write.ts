/**
 * Audit write benchmark (issue 5): how many audit records per second the embedded store makes durable, with group
 * commit (concurrent appends share one fsync) against the floor of one fsync per record, and append latency.
 *
 *   npx tsx bench/audit/write.ts [--quick] [--dir DIR] [--concurrency N]
 *
 * Scenarios, each on a fresh store in DIR (default: a temp dir; fsync cost depends entirely on the disk under it):
 *   one_fsync_per_record  one writer awaiting each single-record append: every record pays its own fsync (the floor)
 *   group_commit          N writers appending single records concurrently: appends waiting on an fsync share the next
 *   bus_batches           one writer appending 512-event batches, as the EventBus delivers them
 *   recorder_via_bus      EventBus.publish of every event, AuditRecorder subscribed, until bus.flush() resolves
 * then the read side on a larger log: newest page, deep cursor paging, a full scan, a time range, verify.
 * Writes bench/results/audit-write.json.
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AuditRecorder } from '../../src/audit/recorder.js';
import { EventBus } from '../../src/events/bus.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { systemBusy, writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';
import { makeEvent } from './events.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    dir: { type: 'string' },
    concurrency: { type: 'string', default: '256' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log('Usage: npx tsx bench/audit/write.ts [--quick] [--dir DIR] [--concurrency N]');
  process.exit(0);
}
const quick = flags.quick;
const concurrency = Number(flags.concurrency);
const PLAN = { serialRecords: quick ? 500 : 2000, groupRecords: quick ? 50_000 : 200_000, batchRecords: quick ? 50_000 : 200_000, busRecords: quick ? 50_000 : 200_000, queryRecords: quick ? 100_000 : 300_000 };
const root = flags.dir ?? mkdtempSync(join(tmpdir(), 'tollgate-audit-bench-'));


interface ScenarioResult {
  records: number;
  appends: number;
  seconds: number;
  recordsPerSec: number;
  fsyncs: number;
  recordsPerFsync: number;
  bytesPerRecord: number;
  appendLatencyMs?: { p50: number; p90: number; p99: number; max: number };
}

let runNo = 0;
async function scenario(name: string, body: (store: EmbeddedAuditStore, latencies: number[]) => Promise<number>): Promise<ScenarioResult> {
  const dataDir = join(root, `${name}-${runNo++}`);
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
  const latencies: number[] = [];
  const fsyncs0 = store.stats().fsyncs;
  const appends0 = store.stats().appends;
  const t0 = performance.now();
  const records = await body(store, latencies);
  const seconds = (performance.now() - t0) / 1000;
  const stats = store.stats();
  await store.close();
  const fsyncs = stats.fsyncs - fsyncs0;
  const result: ScenarioResult = {
    records,
    appends: stats.appends - appends0,
    seconds: round(seconds, 3),
    recordsPerSec: Math.round(records / seconds),
    fsyncs,
    recordsPerFsync: round(records / fsyncs, 1),
    bytesPerRecord: Math.round(stats.bytes / records),
  };
  if (latencies.length) {
    const s = summarize(latencies);
    result.appendLatencyMs = { p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3) };
  }
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`${name.padEnd(22)} ${String(result.recordsPerSec).padStart(9)} records/s  ${String(result.recordsPerFsync).padStart(7)} records/fsync${result.appendLatencyMs ? `  append p50 ${result.appendLatencyMs.p50} ms  p99 ${result.appendLatencyMs.p99} ms` : ''}`);
  return result;
}

const FS_TYPES: Record<number, string> = { 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs' };
const fsType = FS_TYPES[statfsSync(root).type] ?? `0x${statfsSync(root).type.toString(16)}`;
const busy = await systemBusy(500);
console.log(`audit write bench in ${root} (${fsType})${busy !== undefined && busy > 0.2 ? `; warning: system ${Math.round(busy * 100)}% busy` : ''}`);
if (fsType === 'tmpfs') console.log('warning: tmpfs makes fsync free; pass --dir on a real disk for meaningful numbers');

const serial = await scenario('one_fsync_per_record', async (store, lat) => {
  for (let i = 0; i < PLAN.serialRecords; i++) {
    const t = performance.now();
    await store.append([makeEvent(i)]);
    lat.push(performance.now() - t);
  }
  return PLAN.serialRecords;
});

const group = await scenario('group_commit', async (store, lat) => {
  let next = 0;
  const writer = async () => {
    while (next < PLAN.groupRecords) {
      const e = makeEvent(next++);
      const t = performance.now();
      await store.append([e]);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
  return PLAN.groupRecords;
});

const batches = await scenario('bus_batches', async (store, lat) => {
  for (let i = 0; i < PLAN.batchRecords; i += 512) {
    const batch = Array.from({ length: Math.min(512, PLAN.batchRecords - i) }, (_, k) => makeEvent(i + k));
    const t = performance.now();
    await store.append(batch);
    lat.push(performance.now() - t);
  }
  return PLAN.batchRecords;
});

const viaBus = await scenario('recorder_via_bus', async (store) => {
  const bus = new EventBus();
  const recorder = new AuditRecorder(store);
  recorder.attach(bus);
  for (let i = 0; i < PLAN.busRecords; i++) {
    bus.publish(makeEvent(i));
    // Yield now and then, as a server between requests, so the bus timer and the store's commits can run.
    if (i % 2048 === 2047) await new Promise((r) => setImmediate(r));
  }
  await bus.flush();
  const stats = await recorder.close();
  if (stats.appended !== PLAN.busRecords) throw new Error(`recorder appended ${stats.appended} of ${PLAN.busRecords}`);
  return PLAN.busRecords;
});

/** Reads on a log of `queryRecords` records in 8 MiB segments: the cost of GET /v1/audit pages, verify and export. */
async function readCosts(): Promise<Record<string, unknown>> {
  const dataDir = join(root, 'reads');
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0, maxSegmentBytes: 8 * 2 ** 20 });
  for (let i = 0; i < PLAN.queryRecords; i += 4096) await store.append(Array.from({ length: Math.min(4096, PLAN.queryRecords - i) }, (_, k) => makeEvent(i + k)));
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return round(performance.now() - t, 1);
  };
  let cursor: string | null = null;
  const out = {
    records: PLAN.queryRecords,
    segments: store.stats().segments,
    newest100Ms: await time(() => store.query({ limit: 100 })),
    page50DeepMs: await time(async () => {
      for (let p = 0; p < 50; p++) cursor = (await store.query({ limit: 100, cursor: cursor ?? undefined })).next_cursor;
    }),
    rareIdentityFullScanMs: await time(() => store.query({ identity: 'nobody', limit: 100 })),
    oldestMinuteTimeRangeMs: await time(() => store.query({ since: Date.UTC(2026, 10, 25), until: Date.UTC(2026, 10, 25) + 1000, limit: 1000 })),
    verifyMs: await time(() => store.verify()),
  };
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`reads on ${out.records} records / ${out.segments} segments: newest 100 ${out.newest100Ms} ms, 50 pages ${out.page50DeepMs} ms, full scan ${out.rareIdentityFullScanMs} ms, time range ${out.oldestMinuteTimeRangeMs} ms, verify ${out.verifyMs} ms`);
  return out;
}
const reads = await readCosts();

const ratio = round(group.recordsPerSec / serial.recordsPerSec, 1);
console.log(`group commit / one fsync per record: ${ratio}x`);
if (!flags.dir) rmSync(root, { recursive: true, force: true });

const path = writeResult('audit-write', {
  filesystem: fsType,
  quick,
  concurrency,
  scenarios: { one_fsync_per_record: serial, group_commit: group, bus_batches: batches, recorder_via_bus: viaBus },
  groupCommitOverFloor: ratio,
  reads,
  systemBusyBefore: busy === undefined ? null : round(busy, 2),
});
console.log(`wrote ${path}`);
