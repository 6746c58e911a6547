import { parentPort } from 'node:worker_threads';
import type { EgressEvent } from '../../events/types.js';
import { encodeGroup } from './audit-encode.js';

// One group at a time, in order: the parent waits for each group's last hash before it sends the next.
parentPort?.on('message', (job: { id: number; events: EgressEvent[]; seq: number; prev: string }) => {
  let result;
  try {
    result = { id: job.id, group: encodeGroup(job.events, job.seq, job.prev) };
  } catch (err) {
    result = { id: job.id, error: (err as Error).message };
  }
  parentPort!.postMessage(result, result.group ? result.group.chunks.map((c) => c.buffer as ArrayBuffer) : []);
});
parentPort?.postMessage({ ready: true });
