import { createHash } from 'node:crypto';
import { TYPE_URL, type Resource } from '../types.js';

const EMPTY: ReadonlyMap<string, Resource> = new Map();

const TYPE_LABEL: Record<string, string> = {
  [TYPE_URL.listener]: 'listener',
  [TYPE_URL.route]: 'route configuration',
  [TYPE_URL.cluster]: 'cluster',
  [TYPE_URL.endpoint]: 'cluster load assignment',
  [TYPE_URL.secret]: 'secret',
  [TYPE_URL.virtualHost]: 'virtual host',
};

function label(typeUrl: string): string {
  return TYPE_LABEL[typeUrl] ?? typeUrl;
}

/**
 * An immutable, versioned set of resources for one node group. Building it never throws: problems such as duplicate
 * names are reported by consistent(), next to dangling references.
 */
export class Snapshot {
  readonly version: string;
  readonly createdAt: Date;
  private readonly byType: ReadonlyMap<string, ReadonlyMap<string, Resource>>;
  private readonly buildProblems: readonly string[];
  private readonly contentKeys = new Map<string, string>();
  private readonly diffs = new WeakMap<Snapshot, Map<string, string[]>>();

  private constructor(version: string, byType: Map<string, Map<string, Resource>>, problems: string[]) {
    this.version = version;
    this.createdAt = new Date();
    this.byType = byType;
    this.buildProblems = problems;
  }

  /**
   * The same snapshot as gateways that take virtual hosts over VHDS see it (Envoy on delta ADS): same version, the
   * same resources except the route configurations and the VirtualHost resources, which `withVhds` replaced.
   */
  vhds: Snapshot | undefined;
  /** In a VHDS view: the types it does not share with its snapshot. */
  private ownTypes: ReadonlySet<string> | undefined;

  /** Groups resources by type URL and name; `version` is what clients see as version_info / system_version_info. */
  static from(version: string, resources: Iterable<Resource>): Snapshot {
    const byType = new Map<string, Map<string, Resource>>();
    const problems = group(byType, resources);
    if (!version) problems.push('the snapshot version is empty');
    return new Snapshot(version, byType, problems);
  }

  /**
   * Adds the VHDS view: every type of `replacing` (route configurations and virtual hosts) is taken from it, every
   * other type is shared with this snapshot (the same Maps and Resource objects). Returns this snapshot.
   */
  withVhds(replacing: Iterable<Resource>): this {
    const own = new Map<string, Map<string, Resource>>();
    const problems = group(own, replacing);
    const byType = new Map<string, Map<string, Resource>>();
    for (const [typeUrl, named] of this.byType) if (!own.has(typeUrl)) byType.set(typeUrl, named as Map<string, Resource>);
    for (const [typeUrl, named] of own) byType.set(typeUrl, named);
    this.vhds = new Snapshot(this.version, byType, problems);
    this.vhds.ownTypes = new Set(own.keys());
    return this;
  }

  /** What a stream serves from: the VHDS view when the stream takes VHDS and the snapshot has one. */
  viewFor(vhds: boolean): Snapshot {
    return vhds ? (this.vhds ?? this) : this;
  }

  /** Resources of one type by name (empty when the snapshot has none). */
  resources(typeUrl: string): ReadonlyMap<string, Resource> {
    return this.byType.get(typeUrl) ?? EMPTY;
  }

  get(typeUrl: string, name: string): Resource | undefined {
    return this.byType.get(typeUrl)?.get(name);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /** Number of resources of every type. */
  get size(): number {
    let n = 0;
    for (const named of this.byType.values()) n += named.size;
    return n;
  }

  /** A digest of every name and version of one type, computed once: wildcard streams compare it to spot changes. */
  contentKey(typeUrl: string): string {
    let key = this.contentKeys.get(typeUrl);
    if (key === undefined) {
      key = contentKeyOf(this.resources(typeUrl).values());
      this.contentKeys.set(typeUrl, key);
    }
    return key;
  }

  /**
   * Names of one type that were added, changed or removed since an older snapshot, computed once per pair so that many
   * streams synced to the older snapshot only look at what changed.
   */
  changedSince(typeUrl: string, older: Snapshot): string[] {
    let byType = this.diffs.get(older);
    if (!byType) this.diffs.set(older, (byType = new Map()));
    let names = byType.get(typeUrl);
    if (names === undefined) {
      names = [];
      const now = this.resources(typeUrl);
      const before = older.resources(typeUrl);
      for (const [name, r] of now) if (before.get(name)?.version !== r.version) names.push(name);
      for (const name of before.keys()) if (!now.has(name)) names.push(name);
      byType.set(typeUrl, names);
    }
    return names;
  }

  /**
   * Why this snapshot cannot be served, empty when it can: every route configuration a listener uses, every cluster a
   * listener or route names, every load assignment an EDS cluster names and every secret referenced must be present.
   */
  consistent(): string[] {
    const reasons = [...this.buildProblems];
    if (this.vhds) for (const reason of this.vhds.consistent()) reasons.push(`in the VHDS view: ${reason}`);
    const check = (from: Resource, targetType: string, names: readonly string[] | undefined): void => {
      if (!names) return;
      const present = this.resources(targetType);
      for (const name of names) {
        if (!present.has(name)) {
          reasons.push(`${label(from.typeUrl)} "${from.name}" names ${label(targetType)} "${name}", which is not in the snapshot`);
        }
      }
    };
    for (const [typeUrl, named] of this.byType) {
      // A VHDS view shares every other type with its snapshot, checked there: only its own types, and what names a
      // route configuration (listeners), can differ.
      const shared = this.ownTypes !== undefined && !this.ownTypes.has(typeUrl);
      for (const resource of named.values()) {
        const refs = resource.refs;
        if (!refs || (shared && !refs.routes)) continue;
        check(resource, TYPE_URL.route, refs.routes);
        check(resource, TYPE_URL.cluster, refs.clusters);
        check(resource, TYPE_URL.endpoint, refs.endpoints);
        check(resource, TYPE_URL.secret, refs.secrets);
      }
    }
    return reasons;
  }
}

/** Adds resources to a by-type map; returns the problems (empty or duplicate names). */
function group(byType: Map<string, Map<string, Resource>>, resources: Iterable<Resource>): string[] {
  const problems: string[] = [];
  for (const resource of resources) {
    if (!resource.name) {
      problems.push(`a ${label(resource.typeUrl)} has an empty name`);
      continue;
    }
    let named = byType.get(resource.typeUrl);
    if (!named) byType.set(resource.typeUrl, (named = new Map()));
    if (named.has(resource.name)) problems.push(`two resources of type ${label(resource.typeUrl)} are named "${resource.name}"`);
    named.set(resource.name, resource);
  }
  return problems;
}

/** A digest of names and versions; order-independent because Maps keep insertion order but callers may not. */
export function contentKeyOf(resources: Iterable<Resource>): string {
  const entries: string[] = [];
  for (const r of resources) entries.push(`${r.name}\u0000${r.version}`);
  entries.sort();
  const hash = createHash('sha256');
  for (const entry of entries) hash.update(entry).update('\u0001');
  return hash.digest('hex').slice(0, 24);
}
