import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { PolicyStore, StoredPolicy, ValidatedPolicyForm } from '../policy-store.js';
import { writeFileAtomic } from './atomic-file.js';
import { decodeForm, encodeForm } from './policy-form.js';
import { quarantineFile, type Quarantined } from './quarantine.js';

export interface EmbeddedPolicyStoreOptions {
  /**
   * Told when a corrupt `policy.json` was moved aside at load (the store then has no stored version), or a corrupt
   * `policy.validated` (the stored text is then parsed and validated again).
   */
  onQuarantine?: (q: Quarantined) => void;
}

/**
 * Keeps the current policy as one JSON file in the data directory, replaced atomically on every save, and next to it
 * the text's validated form (`policy.validated`, see policy-form.ts) so that a restart skips YAML and the schema.
 */
export class EmbeddedPolicyStore implements PolicyStore {
  readonly path: string;
  readonly formPath: string;

  constructor(
    private readonly dataDir: string,
    private readonly opts: EmbeddedPolicyStoreOptions = {},
  ) {
    this.path = join(dataDir, 'policy.json');
    this.formPath = join(dataDir, 'policy.validated');
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
    if (problem !== undefined) {
      this.opts.onQuarantine?.(await quarantineFile(this.path, problem));
      return undefined;
    }
    const stored = JSON.parse(raw) as StoredPolicy;
    delete stored.validated;
    const validated = await this.loadForm(stored.text);
    return validated ? { ...stored, validated } : stored;
  }

  /** `policy.json` is the commit point; the form follows it (a crash between the two leaves a stale form, ignored at load). */
  async save(policy: StoredPolicy, validated?: ValidatedPolicyForm): Promise<void> {
    const { validated: _ignored, ...plain } = policy;
    await writeFileAtomic(this.path, `${JSON.stringify(plain, null, 2)}\n`);
    if (validated) await this.saveValidated(validated);
  }

  async saveValidated(validated: ValidatedPolicyForm): Promise<void> {
    // Best effort: without the form a restart parses the text, as it always could.
    await writeFileAtomic(this.formPath, encodeForm(validated)).catch(() => unlink(this.formPath).catch(() => undefined));
  }

  async close(): Promise<void> {}

  /** The form of `text`, if a good one is stored; a corrupt one is quarantined, a stale one (other text) left to be replaced. */
  private async loadForm(text: string): Promise<ValidatedPolicyForm | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.formPath, 'utf8');
    } catch {
      return undefined;
    }
    const decoded = decodeForm(raw, createHash('sha256').update(text).digest('hex'));
    if (decoded.ok) return decoded.form;
    if (!decoded.stale) this.opts.onQuarantine?.(await quarantineFile(this.formPath, decoded.why));
    return undefined;
  }

  /** Temp files of writes cut short by a crash (a failed write removes its own). */
  private async removeStaleTemps(): Promise<void> {
    const names = await readdir(this.dataDir).catch(() => [] as string[]);
    for (const name of names) if ((name.startsWith('.policy.json.') || name.startsWith('.policy.validated.')) && name.endsWith('.tmp')) await unlink(join(this.dataDir, name)).catch(() => undefined);
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
