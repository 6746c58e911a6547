import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyStore, StoredPolicy } from '../policy-store.js';
import { writeFileAtomic } from './atomic-file.js';
import { quarantineFile, type Quarantined } from './quarantine.js';

export interface EmbeddedPolicyStoreOptions {
  /** Told when a corrupt `policy.json` was moved aside at load (the store then has no stored version). */
  onQuarantine?: (q: Quarantined) => void;
}

/** Keeps the current policy as one JSON file in the data directory, replaced atomically on every save. */
export class EmbeddedPolicyStore implements PolicyStore {
  readonly path: string;

  constructor(
    private readonly dataDir: string,
    private readonly opts: EmbeddedPolicyStoreOptions = {},
  ) {
    this.path = join(dataDir, 'policy.json');
  }

  async load(): Promise<StoredPolicy | undefined> {
    await this.removeStaleTemps();
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${this.path}: ${(err as Error).message}`, { cause: err });
    }
    const problem = invalidStoredPolicy(raw);
    if (problem === undefined) return JSON.parse(raw) as StoredPolicy;
    this.opts.onQuarantine?.(await quarantineFile(this.path, problem));
    return undefined;
  }

  async save(policy: StoredPolicy): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(policy, null, 2)}\n`);
  }

  async close(): Promise<void> {}

  /** Temp files of writes cut short by a crash (a failed write removes its own). */
  private async removeStaleTemps(): Promise<void> {
    const names = await readdir(this.dataDir).catch(() => [] as string[]);
    for (const name of names) if (name.startsWith('.policy.json.') && name.endsWith('.tmp')) await unlink(join(this.dataDir, name)).catch(() => undefined);
  }
}

function invalidStoredPolicy(raw: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const p = doc as Partial<StoredPolicy> | null;
  if (!p || typeof p !== 'object') return 'not a JSON object';
  if (!Number.isSafeInteger(p.version) || (p.version as number) < 0) return 'field "version" is not a non-negative integer';
  if (typeof p.text !== 'string') return 'field "text" is not a string';
  if (typeof p.sha256 !== 'string') return 'field "sha256" is not a string';
  if (typeof p.updatedAt !== 'string') return 'field "updatedAt" is not a string';
  return undefined;
}
