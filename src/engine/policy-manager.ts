import { readFile, watch } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Problem } from '../policy/problems.js';
import type { PolicyStore } from '../store/policy-store.js';
import { buildPolicy, etagFor, sha256Hex, type PolicyVersion } from './policy-version.js';

export type UpdateResult =
  | { ok: true; version: PolicyVersion }
  | { ok: false; kind: 'invalid'; problems: Problem[] }
  | { ok: false; kind: 'conflict'; current: PolicyVersion };

const EMPTY_POLICY = 'version: 1\n# no rules: everything is denied\n';

/**
 * Owns the current policy version: loads it from the store (or imports the policy file), swaps in
 * valid new versions atomically, persists them, and tells subscribers (xDS, metrics) about changes.
 */
export class PolicyManager {
  private currentVersion!: PolicyVersion;
  private readonly listeners = new Set<(v: PolicyVersion) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: AbortController | undefined;
  /** sha256 of the policy file content last imported; kept with API versions so a restart can tell whether the file changed. */
  private fileSha: string | undefined;

  constructor(
    private readonly store: PolicyStore,
    private readonly log: Logger,
    private readonly policyFile?: string,
  ) {}

  /** The version every request is decided against; a plain field read on the hot path. */
  get current(): PolicyVersion {
    return this.currentVersion;
  }

  async init(): Promise<void> {
    const stored = await this.store.load();
    const fileText = this.policyFile ? await readFile(this.policyFile, 'utf8') : undefined;
    const fileSha = fileText === undefined ? undefined : sha256Hex(fileText);
    if (stored && (fileSha === undefined || stored.sourceSha256 === fileSha)) {
      const built = buildPolicy(stored.text);
      if (built.ok) {
        this.currentVersion = { ...built.build, version: stored.version, etag: etagFor(stored.version, built.build.sha256), loadedAt: stored.updatedAt };
        this.fileSha = stored.sourceSha256;
        return;
      }
      this.log.error({ problems: built.problems }, 'stored policy no longer compiles; falling back to the policy file');
    }
    const text = fileText ?? EMPTY_POLICY;
    const built = buildPolicy(text);
    if (!built.ok) throw new PolicyError(`policy ${this.policyFile ?? '(empty)'} is invalid`, built.problems);
    const version = (stored?.version ?? 0) + 1;
    this.currentVersion = { ...built.build, version, etag: etagFor(version, built.build.sha256), loadedAt: new Date().toISOString() };
    this.fileSha = fileSha;
    await this.persist(this.currentVersion);
  }

  subscribe(listener: (v: PolicyVersion) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates and installs new policy text. `ifMatch` (an ETag) makes it fail with a conflict when stale. */
  update(text: string, ifMatch?: string, sourceSha256?: string): Promise<UpdateResult> {
    const run = this.queue.then(() => this.apply(text, ifMatch, sourceSha256));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(text: string, ifMatch: string | undefined, sourceSha256: string | undefined): Promise<UpdateResult> {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.currentVersion.etag) {
      return { ok: false, kind: 'conflict', current: this.currentVersion };
    }
    const built = buildPolicy(text);
    if (!built.ok) return { ok: false, kind: 'invalid', problems: built.problems };
    const version = this.currentVersion.version + 1;
    const next: PolicyVersion = { ...built.build, version, etag: etagFor(version, built.build.sha256), loadedAt: new Date().toISOString() };
    if (sourceSha256 !== undefined) this.fileSha = sourceSha256;
    await this.persist(next);
    this.currentVersion = next;
    this.log.info({ version, etag: next.etag, rules: next.policy.rules.length }, 'policy installed');
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.log.error({ err }, 'policy listener failed');
      }
    }
    return { ok: true, version: next };
  }

  private persist(v: PolicyVersion): Promise<void> {
    return this.store.save({ version: v.version, text: v.text, sha256: v.sha256, sourceSha256: this.fileSha, updatedAt: v.loadedAt });
  }

  /** Watches the policy file; a valid edit replaces the policy, an invalid one is logged and the old one keeps serving. */
  watchFile(debounceMs = 50): void {
    if (!this.policyFile || this.watcher) return;
    const file = resolve(this.policyFile);
    const controller = new AbortController();
    this.watcher = controller;
    let timer: NodeJS.Timeout | undefined;
    let lastSha = this.fileSha;
    const reload = async () => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return; // mid-rename or deleted: keep serving, the next event retries
      }
      const sha = sha256Hex(text);
      if (sha === lastSha) return;
      lastSha = sha;
      const result = await this.update(text, undefined, sha);
      if (!result.ok && result.kind === 'invalid') {
        this.log.error({ file, problems: result.problems }, 'policy file rejected; the previous version keeps serving');
      }
    };
    // Watch the directory, not the file: editors and `mv` replace the inode.
    (async () => {
      try {
        for await (const event of watch(dirname(file), { signal: controller.signal })) {
          if (event.filename !== basename(file)) continue;
          clearTimeout(timer);
          timer = setTimeout(() => void reload(), debounceMs);
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') this.log.error({ err }, 'policy file watch stopped');
      }
    })();
  }

  close(): void {
    this.watcher?.abort();
    this.watcher = undefined;
  }
}

export class PolicyError extends Error {
  constructor(
    message: string,
    readonly problems: Problem[],
  ) {
    super(`${message}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}
