import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A file of the shared data set: `../shared/data` beside the repository (as CI lays it), else the workplace copy. */
export function sharedDataFile(name: string): string {
  const beside = resolve(ROOT, '../shared/data', name);
  return existsSync(beside) ? beside : resolve('/work/shared/data', name);
}
