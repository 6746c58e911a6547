/** A stored policy document with its monotonically increasing version. */
export interface StoredPolicy {
  version: number;
  text: string;
  sha256: string;
  /** sha256 of the policy file this version was imported from, if any (lets a restart notice file edits). */
  sourceSha256?: string;
  updatedAt: string;
}

/** Where policy versions persist. The embedded store writes files; a Redis store shares them across replicas. */
export interface PolicyStore {
  load(): Promise<StoredPolicy | undefined>;
  /** Persists atomically: after it resolves, a crash or restart sees this version or a newer one. */
  save(policy: StoredPolicy): Promise<void>;
  close(): Promise<void>;
  /** Shared stores only: calls back when another replica stored a newer version (the manager then adopts it). */
  watch?(onNewVersion: () => void): () => void;
}

/** A save refused because the store already holds that version or a newer one: another replica wrote first. */
export class StalePolicyError extends Error {
  readonly code = 'STALE_POLICY_VERSION';

  constructor(readonly stored: StoredPolicy) {
    super(`the store already holds policy version ${stored.version}`);
  }
}
