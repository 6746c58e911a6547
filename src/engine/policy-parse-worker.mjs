// Worker entry in plain JS: Node cannot load .ts in a worker by itself, so register tsx here (same as bin/tollgate.js).
import { register } from 'tsx/esm/api';

register();
await import('./policy-parse-worker.ts');
