// A store under constant compression for the kill -9 test: tiny segments rotate every few commits, so sealed segments
// are being gzipped almost all the time. Prints `acked <last seq>` after each append resolves (durable); never cleans up.
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { events } from './fixtures.js';

const [dataDir] = process.argv.slice(2) as [string];
const store = await EmbeddedAuditStore.open({ dataDir, maxSegmentBytes: 16 * 1024, maintenanceIntervalMs: 0 });
for (let i = store.stats().last_seq; ; i += 20) {
  await store.append(events(i, 20));
  const s = store.stats();
  process.stdout.write(`acked ${s.last_seq} compressed ${s.compressed_segments}\n`);
}
