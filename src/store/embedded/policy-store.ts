import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyStore, StoredPolicy } from '../policy-store.js';
import { writeFileAtomic } from './atomic-file.js';

/** Keeps the current policy as one JSON file in the data directory, replaced atomically on every save. */
export class EmbeddedPolicyStore implements PolicyStore {
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'policy.json');
  }

  async load(): Promise<StoredPolicy | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return JSON.parse(raw) as StoredPolicy;
  }

  async save(policy: StoredPolicy): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(policy, null, 2)}\n`);
  }

  async close(): Promise<void> {}
}
