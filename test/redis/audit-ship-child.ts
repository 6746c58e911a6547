// A replica stand-in for the kill test: appends audit records and ships them until it is killed (SIGKILL, no cleanup).
import { Redis } from 'ioredis';
import { AuditShipper } from '../../src/audit/shipper.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { decisions } from './audit-helpers.js';

const [dataDir, url, replica, prefix] = process.argv.slice(2) as [string, string, string, string];
const store = await EmbeddedAuditStore.open({ dataDir, maxSegmentBytes: 64 * 1024, maintenanceIntervalMs: 0 });
const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000, lazyConnect: true });
client.on('error', () => undefined);
await client.connect();
const shipper = new AuditShipper({ redis: client, local: store, replica, prefix, batchRecords: 100, pipelineBatches: 4, pollMs: 5, trimEveryMs: 0 });
shipper.start();
process.stdout.write('ready\n');
for (let i = store.stats().last_seq; ; i += 50) {
  await store.append(decisions(replica, i, 50, 10));
  shipper.nudge();
}
