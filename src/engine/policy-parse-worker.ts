import { parentPort } from 'node:worker_threads';
import { parsePolicyUpdate } from '../policy/secrets.js';
import { preparePolicy } from './policy-prepare.js';

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
