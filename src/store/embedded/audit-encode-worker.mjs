// Worker entry in plain JS: Node cannot load .ts in a worker by itself, so register tsx here (same as bin/tollgate.js).
// In the compiled tree (dist/) there is no .ts beside this file and the compiled .js loads without tsx.
import { existsSync } from 'node:fs';

const source = new URL('./audit-encode-worker.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('./audit-encode-worker.js');
}
