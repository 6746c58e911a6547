import { parentPort } from 'node:worker_threads';
import { parsePolicyUpdate } from '../policy/secrets.js';

// One job at a time: the parent serialises requests, so a slow document only ever delays other policy parses.
parentPort?.on('message', (job: { id: number; text: string; known: Map<string, string> }) => {
  parentPort!.postMessage({ id: job.id, result: parsePolicyUpdate(job.text, job.known) });
});
// Loaded (tsx and the parser compiled): the parent starts a job's clock only from here.
parentPort?.postMessage({ ready: true });
