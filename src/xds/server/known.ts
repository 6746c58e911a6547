import type { Resource } from '../types.js';

/**
 * What a delta client holds of one type, by name → version, stored as a snapshot's own resource Map (shared by every
 * stream synced to it) plus this stream's differences. A wildcard stream synced to a snapshot holds exactly its
 * resources, so it keeps no entry of its own: at 10,000 destinations that was a 30,000-entry Map per delta stream
 * (~1.2 MB each, most of Tollgate's heap with 100 delta Envoys).
 */
export class KnownVersions {
  private base: ReadonlyMap<string, Resource> | undefined;
  /** A version this stream holds that differs from the base, or null: not held although the base has it. */
  private readonly own = new Map<string, string | null>();

  get(name: string): string | undefined {
    const mine = this.own.get(name);
    if (mine !== undefined) return mine ?? undefined;
    return this.base?.get(name)?.version;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, version: string): void {
    if (this.base?.get(name)?.version === version) this.own.delete(name);
    else this.own.set(name, version);
  }

  delete(name: string): void {
    if (this.base?.has(name)) this.own.set(name, null);
    else this.own.delete(name);
  }

  /** Every name held, as a list (callers may delete while going through it). */
  names(): string[] {
    const out: string[] = [];
    if (this.base) for (const name of this.base.keys()) if (this.own.get(name) !== null) out.push(name);
    for (const [name, version] of this.own) if (version !== null && !this.base?.has(name)) out.push(name);
    return out;
  }

  /** The client now holds exactly these resources (their current versions): forget every own entry. */
  rebase(resources: ReadonlyMap<string, Resource>): void {
    this.base = resources;
    this.own.clear();
  }

  /** Entries this stream keeps of its own (what the sharing saves is the rest). */
  get ownEntries(): number {
    return this.own.size;
  }
}
