import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StorageProblem {
  /** Who could not write: `policy`, `inventory`, `audit`, `probe`. */
  component: string;
  /** Error code when there is one (`ENOSPC`, `EACCES`, `EROFS`). */
  code: string | undefined;
  /** What failed, e.g. `ENOSPC: no space left on device, write (data/policy.json)`; never file contents. */
  reason: string;
  since: string;
}

/**
 * Whether the data directory can be written, as told by every writer: a failed write reports the
 * component, the next successful one clears it. `/readyz` answers not ready while any problem stands,
 * and probes the directory itself, so a full disk is seen before a write fails and a freed one without
 * waiting for the next write.
 */
export class StorageHealth {
  private readonly problems = new Map<string, StorageProblem>();
  private readonly listeners = new Set<(healthy: boolean) => void>();

  constructor(private readonly dataDir?: string) {}

  /** A write by `component` failed; `file` names what it was writing. */
  fail(component: string, err: unknown, file?: string): void {
    const e = err as NodeJS.ErrnoException;
    const message = e instanceof Error ? e.message : String(err);
    const was = this.problems.get(component);
    this.problems.set(component, { component, code: e?.code, reason: file && !message.includes(file) ? `${message} (${file})` : message, since: was?.since ?? new Date().toISOString() });
    if (!was) this.emit();
  }

  /** A write by `component` succeeded: whatever it reported before is over. */
  ok(component: string): void {
    if (this.problems.delete(component)) this.emit();
  }

  get healthy(): boolean {
    return this.problems.size === 0;
  }

  list(): StorageProblem[] {
    return [...this.problems.values()];
  }

  /** Called with the new state on every change (metrics). */
  onChange(listener: (healthy: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes and removes a 4 KiB file in the data directory: success clears every write problem, failure reports `probe`. */
  async probe(): Promise<boolean> {
    if (!this.dataDir) return this.healthy;
    const file = join(this.dataDir, '.tollgate-write-probe');
    try {
      await writeFile(file, Buffer.alloc(4096));
      if (this.problems.size > 0) {
        this.problems.clear();
        this.emit();
      }
    } catch (err) {
      this.fail('probe', err, file);
    }
    await unlink(file).catch(() => undefined);
    return this.healthy;
  }

  private emit(): void {
    for (const l of this.listeners) l(this.healthy);
  }
}
