import { readFile, watch } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { CST_PARSE_BYTES } from '../policy/parse.js';
import { knownSecrets } from '../policy/secrets.js';
import type { Problem } from '../policy/problems.js';
import { StalePolicyError, type PolicyStore, type StoredPolicy, type ValidatedPolicyForm } from '../store/policy-store.js';
import { runInBackground, type BackgroundErrorReporter } from './background.js';
import { compilePrepared, yieldToEventLoop, type Yield } from './policy-compile.js';
import { preparePolicy, type PreparedPolicy, type PrepareResult } from './policy-prepare.js';
import { etagFor, sha256Hex, type BuildResult, type ParseLimit, type PolicyVersion } from './policy-version.js';
import type { StorageHealth } from './storage-health.js';

export type UpdateResult =
  | { ok: true; version: PolicyVersion }
  | { ok: false; kind: 'invalid'; problems: Problem[]; limit?: ParseLimit }
  | { ok: false; kind: 'conflict'; current: PolicyVersion }
  | { ok: false; kind: 'storage'; code: string | undefined; message: string; current: PolicyVersion };

export interface PolicyManagerOptions {
  /**
   * Parses and validates untrusted text (see `preparePolicy`; with `known`, secret placeholders are put back); the server
   * passes the worker-thread parser so YAML and schema checks never run on the event loop. Default: in-thread.
   */
  prepare?: (text: string, known?: ReadonlyMap<string, string>) => Promise<PrepareResult>;
  /** How the event-loop part of a compile yields between chunks of rules (tests count slices with it). */
  pause?: Yield;
  /** Where a failed file reload or watcher goes (logged and counted); default: logged. */
  reportError?: BackgroundErrorReporter;
  /** Told whether each policy write succeeded. */
  storage?: StorageHealth;
  /** For messages: where the store keeps its versions. */
  storePath?: string;
}

/** Where an installed version came from: an API write, a policy-file reload, or another replica's write (shared store). */
export type PolicyOrigin = 'api' | 'file' | 'replica';

const EMPTY_POLICY = 'version: 1\n# no rules: everything is denied\n';

/** Before anything is served nothing needs the event loop: a start-up compile runs its chunks back to back. */
const noPause: Yield = () => Promise.resolve();

/** A build with the validated form it came from (what the store keeps next to the text). */
type BuildWithForm = { built: BuildResult; form?: ValidatedPolicyForm };

function formOf(p: PreparedPolicy): ValidatedPolicyForm {
  return { sha256: p.sha256, rules: p.rules, head: p.head, chunks: p.chunks };
}

/**
 * Owns the current policy version: loads it from the store (or imports the policy file), swaps in
 * valid new versions atomically, persists them, and tells subscribers (xDS, metrics) about changes.
 */
export class PolicyManager {
  private currentVersion!: PolicyVersion;
  private readonly listeners = new Set<(v: PolicyVersion, origin: PolicyOrigin) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: AbortController | undefined;
  /** sha256 of the policy file content last imported; kept with API versions so a restart can tell whether the file changed. */
  private fileSha: string | undefined;

  private readonly prepare: (text: string, known?: ReadonlyMap<string, string>) => Promise<PrepareResult>;
  private readonly reportError: BackgroundErrorReporter;

  constructor(
    private readonly store: PolicyStore,
    private readonly log: Logger,
    private readonly policyFile?: string,
    private readonly opts: PolicyManagerOptions = {},
  ) {
    this.prepare = opts.prepare ?? ((text, known) => Promise.resolve(preparePolicy(text, known)));
    this.reportError = opts.reportError ?? ((task, err) => log.error({ err, task }, 'policy background task failed'));
  }

  /** The version every request is decided against; a plain field read on the hot path. */
  get current(): PolicyVersion {
    return this.currentVersion;
  }

  async init(): Promise<void> {
    const stored = await this.store.load();
    const where = this.opts.storePath ?? 'the data directory';
    let fileText: string | undefined;
    let fileError: string | undefined;
    if (this.policyFile) {
      try {
        fileText = await readFile(this.policyFile, 'utf8');
      } catch (err) {
        fileError = (err as Error).message;
      }
    }
    const fileSha = fileText === undefined ? undefined : sha256Hex(fileText);
    if (stored && (fileSha === undefined || stored.sourceSha256 === fileSha)) {
      const built = await this.buildStoredAtStartup(stored);
      if (built.ok) {
        this.currentVersion = { ...built.build, version: stored.version, etag: etagFor(stored.version, built.build.sha256), loadedAt: stored.updatedAt };
        this.fileSha = stored.sourceSha256;
        // A missing file must not stop a restart: the stored version is the last good state.
        if (fileError) this.log.error({ file: this.policyFile, error: fileError, version: stored.version, store: where }, `policy file ${this.policyFile} cannot be read; serving stored policy version ${stored.version} from ${where}`);
        return;
      }
      this.log.error({ problems: built.problems, store: where }, `stored policy in ${where} no longer compiles; falling back to the policy file`);
    }
    if (fileError) throw new Error(`policy file ${this.policyFile} cannot be read (${fileError}) and ${where} holds no usable stored policy to serve instead`);
    const text = fileText ?? EMPTY_POLICY;
    const { built, form } = await this.buildAtStartup(text);
    if (!built.ok) throw new PolicyError(`policy ${this.policyFile ?? '(empty)'} is invalid`, built.problems);
    const version = (stored?.version ?? 0) + 1;
    this.currentVersion = { ...built.build, version, etag: etagFor(version, built.build.sha256), loadedAt: new Date().toISOString() };
    this.fileSha = fileSha;
    try {
      await this.persist(this.currentVersion, form);
    } catch (err) {
      // A shared store: another replica stored its version first; serve that one rather than fail to start.
      if (!(err instanceof StalePolicyError) || !(await this.installStored(err.stored, false))) throw err;
    }
  }

  /**
   * A shared store holds a newer version than the one serving (another replica wrote it): load, compile
   * and install it. Resolves true when a newer version was installed.
   */
  adoptStored(): Promise<boolean> {
    const run = this.queue.then(async () => {
      const stored = await this.store.load();
      return stored !== undefined && stored.version > this.currentVersion.version && (await this.installStored(stored, true));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Installs a version another replica stored (already validated there); false when it does not compile here. */
  private async installStored(stored: StoredPolicy, announce: boolean): Promise<boolean> {
    const { built } = await this.build(stored.text);
    if (!built.ok) {
      this.log.error({ version: stored.version, problems: built.problems }, 'stored policy version does not compile on this replica; the previous version keeps serving');
      return false;
    }
    this.fileSha = stored.sourceSha256;
    const next: PolicyVersion = { ...built.build, version: stored.version, etag: etagFor(stored.version, built.build.sha256), loadedAt: stored.updatedAt };
    if (!announce) {
      this.currentVersion = next;
      return true;
    }
    this.install(next, 'replica');
    return true;
  }

  subscribe(listener: (v: PolicyVersion, origin: PolicyOrigin) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates and installs new policy text. `ifMatch` (an ETag) makes it fail with a conflict when stale. */
  update(text: string, ifMatch?: string, sourceSha256?: string): Promise<UpdateResult> {
    const run = this.queue.then(() => this.apply(text, ifMatch, sourceSha256));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Checks text as `update` would (same limits, same parser, placeholders resolved) without installing it. */
  async validate(text: string): Promise<BuildResult> {
    return (await this.build(text, knownSecrets(this.currentVersion.policy.document))).built;
  }

  /**
   * The stored version at start-up. When the store holds the validated form of exactly this text (its hash and integrity
   * checked by the store), the compile starts from it: no YAML parse, no schema run (~3.5 s of a 100k-rule start). A form
   * that does not compile is logged and the text is parsed instead; a text build stores its form for the next restart.
   */
  private async buildStoredAtStartup(stored: StoredPolicy): Promise<BuildResult> {
    if (stored.validated) {
      try {
        const built = await compilePrepared(stored.text, { ...stored.validated }, noPause);
        if (built.ok) {
          this.log.info({ version: stored.version, rules: stored.validated.rules, source: 'validated-form' }, 'policy restored from its stored validated form (YAML and schema skipped)');
          return built;
        }
        this.log.warn({ version: stored.version, problems: built.problems }, 'stored validated policy form does not compile; parsing the policy text instead');
      } catch (err) {
        this.log.warn({ version: stored.version, err }, 'stored validated policy form is unreadable; parsing the policy text instead');
      }
    }
    const { built, form } = await this.buildAtStartup(stored.text);
    if (built.ok) {
      this.log.info({ version: stored.version, rules: built.build.policy.rules.length, source: 'text' }, 'policy restored from its stored text');
      if (form) await this.store.saveValidated?.(form);
    }
    return built;
  }

  /**
   * Before anything is served the event loop has nothing to protect: a small policy is checked in-thread (no worker
   * start-up). A large one still goes through the worker, whose heap (the parse's hundreds of MB of garbage) is then
   * given back to the system; built in-thread it would stay in this process's RSS.
   */
  private async buildAtStartup(text: string): Promise<BuildWithForm> {
    if (text.length > CST_PARSE_BYTES && this.opts.prepare) return this.build(text, undefined, noPause);
    const prepared = preparePolicy(text);
    if (!prepared.ok) return { built: prepared };
    return { built: await compilePrepared(text, prepared.prepared, noPause), form: formOf(prepared.prepared) };
  }

  /** Text (as written, or with placeholders put back from `known`) to an installable build: checks off-thread, rules indexed in slices. */
  private async build(text: string, known?: ReadonlyMap<string, string>, pause?: Yield): Promise<BuildWithForm> {
    const prepared = await this.prepare(text, known);
    if (!prepared.ok) return { built: prepared };
    return { built: await compilePrepared(text, prepared.prepared, pause ?? this.opts.pause ?? yieldToEventLoop), form: formOf(prepared.prepared) };
  }

  private async apply(text: string, ifMatch: string | undefined, sourceSha256: string | undefined, attempt = 0): Promise<UpdateResult> {
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.currentVersion.etag) {
      return { ok: false, kind: 'conflict', current: this.currentVersion };
    }
    const { built, form } = await this.build(text, knownSecrets(this.currentVersion.policy.document));
    if (!built.ok) return { ok: false, kind: 'invalid', problems: built.problems, limit: built.limit };
    // The parse took a while off-thread and the compile yielded: an If-Match checked before may be stale now.
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.currentVersion.etag) {
      return { ok: false, kind: 'conflict', current: this.currentVersion };
    }
    const version = this.currentVersion.version + 1;
    const next: PolicyVersion = { ...built.build, version, etag: etagFor(version, built.build.sha256), loadedAt: new Date().toISOString() };
    const previousFileSha = this.fileSha;
    if (sourceSha256 !== undefined) this.fileSha = sourceSha256;
    try {
      await this.persist(next, form);
      this.opts.storage?.ok('policy');
    } catch (err) {
      // Not persisted means not installed: the previous version keeps serving, and a restart agrees with it.
      this.fileSha = previousFileSha;
      if (err instanceof StalePolicyError) {
        // Another replica stored this version number first: serve theirs; a write without If-Match goes on top of it.
        await this.installStored(err.stored, true);
        if ((ifMatch === undefined || ifMatch === '*') && attempt < 3) return this.apply(text, ifMatch, sourceSha256, attempt + 1);
        return { ok: false, kind: 'conflict', current: this.currentVersion };
      }
      const e = err as NodeJS.ErrnoException;
      // An unreachable shared store (Redis) is reported by its own health, not as an unwritable data directory.
      if (e.code !== 'REDIS_UNAVAILABLE') this.opts.storage?.fail('policy', err, this.opts.storePath);
      this.log.error({ err, version, store: this.opts.storePath }, 'policy version could not be stored; the previous version keeps serving');
      return { ok: false, kind: 'storage', code: e.code, message: e.message, current: this.currentVersion };
    }
    // Only file reloads pass the file's sha256 (watchFile).
    this.install(next, sourceSha256 !== undefined ? 'file' : 'api');
    return { ok: true, version: next };
  }

  private install(next: PolicyVersion, origin: PolicyOrigin): void {
    this.currentVersion = next;
    this.log.info({ version: next.version, etag: next.etag, rules: next.policy.rules.length }, 'policy installed');
    for (const listener of this.listeners) {
      try {
        listener(next, origin);
      } catch (err) {
        this.log.error({ err }, 'policy listener failed');
      }
    }
  }

  private persist(v: PolicyVersion, form?: ValidatedPolicyForm): Promise<void> {
    return this.store.save({ version: v.version, text: v.text, sha256: v.sha256, sourceSha256: this.fileSha, updatedAt: v.loadedAt }, form);
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
      if (!result.ok && result.kind === 'storage') {
        lastSha = undefined; // not installed: the next edit or event of the same content tries again
        this.reportError('policy-file-reload', new Error(`policy file ${file} not installed: ${result.message}`));
      }
    };
    // Watch the directory, not the file: editors and `mv` replace the inode.
    (async () => {
      try {
        for await (const event of watch(dirname(file), { signal: controller.signal })) {
          // A ConfigMap volume's file is a symlink through `..data`, which the kubelet swaps by renaming `..data_tmp`
          // over it (pkg/volume/util/atomic_writer.go `Write`): the file's own name never appears, so `..` names count.
          if (event.filename !== null && event.filename !== basename(file) && !event.filename.startsWith('..')) continue;
          clearTimeout(timer);
          timer = setTimeout(() => runInBackground('policy-file-reload', reload, this.reportError), debounceMs);
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') this.reportError('policy-file-watch', err);
      }
    })().catch((err: unknown) => this.reportError('policy-file-watch', err));
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
