/** A stored policy document with its monotonically increasing version. */
export interface StoredPolicy {
  version: number;
  text: string;
  sha256: string;
  /** sha256 of the policy file this version was imported from, if any (lets a restart notice file edits). */
  sourceSha256?: string;
  updatedAt: string;
  /** Set by `load` when the store holds a validated form of exactly this text (its integrity checked). */
  validated?: ValidatedPolicyForm;
}

/**
 * A policy text's validated document (schema output, defaults filled) as JSON strings: `head` is the document with every
 * `allow` list empty, each chunk `{"b": block, "allow": [...]}` the next rules of one block (the parse worker's
 * `PreparedPolicy`). A restart whose text hashes to `sha256` compiles it without parsing YAML or running the schema.
 */
export interface ValidatedPolicyForm {
  /** sha256 of the text this form was validated from. */
  sha256: string;
  rules: number;
  head: string;
  chunks: string[];
}

/** Where policy versions persist. The embedded store writes files; a Redis store shares them across replicas. */
export interface PolicyStore {
  load(): Promise<StoredPolicy | undefined>;
  /** Persists atomically: after it resolves, a crash or restart sees this version or a newer one. */
  save(policy: StoredPolicy, validated?: ValidatedPolicyForm): Promise<void>;
  /** Stores the validated form of the text already stored (a restart that had to parse it). Best effort: never throws. */
  saveValidated?(validated: ValidatedPolicyForm): Promise<void>;
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
