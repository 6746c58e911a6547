import { parentPort } from 'node:worker_threads';
import { parsePolicyUpdate } from '../policy/secrets.js';
import { preparePolicy } from './policy-prepare.js';
import { lowerThreadPriority } from './thread-priority.js';

// Parsing a large policy takes seconds of CPU; where the process has one core (a pinned or one-CPU container), the
// Checks' event loop must win it while both want it, or a reload stalls traffic even though it runs off the loop.
lowerThreadPriority();

interface WorkerJob {
  id: number;
  kind: 'parse' | 'prepare';
  text: string;
  known: Map<string, string> | undefined;
}

// One job at a time: the parent serialises requests, so a slow document only ever delays other policy parses.
parentPort?.on('message', (job: WorkerJob) => {
  const result = job.kind === 'prepare' ? preparePolicy(job.text, job.known) : parsePolicyUpdate(job.text, job.known);
  parentPort!.postMessage({ id: job.id, result });
});
// Loaded (tsx and the parser compiled): the parent starts a job's clock only from here.
parentPort?.postMessage({ ready: true });
