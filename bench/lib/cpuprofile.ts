import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile the bench summaries read. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  function: string;
  /** `file:line` with the repository root stripped, or a category such as `(garbage collector)`. */
  location: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  durationMs: number;
  idlePct: number;
  functions: HotFunction[];
  /** Self time per file (node internals and dependencies grouped by package). */
  files: Array<{ file: string; selfMs: number; selfPct: number }>;
}

function fileGroup(url: string, root: string): string {
  if (!url) return '(native/vm)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = u.slice(root.length).replace(/^\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (u.startsWith('node:')) return 'node:internal';
  return u;
}

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function, and self
 * time per file, sorted by self time. `root` is stripped from paths; the first `skipMs` are left out.
 */
export function summarizeCpuProfile(path: string, root: string, top = 25, skipMs = 0): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i is taken at startTime + sum(timeDeltas[0..i]); samples before skipMs (start-up) are ignored.
  let t = prof.startTime;
  const from = prof.startTime + skipMs * 1000;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const total = prof.endTime - Math.max(prof.startTime, Math.min(from, prof.endTime));

  const keyOf = (n: ProfileNode) => {
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    const file = fileGroup(cf.url, root);
    // Code loaded through tsx reports line 0 for everything; show a line only when there is one.
    return { key: `${name}\u0000${cf.url}:${cf.lineNumber}`, name, location: cf.url && cf.lineNumber > 0 ? `${file}:${cf.lineNumber + 1}` : file, file };
  };
  const fnSelf = new Map<string, { name: string; location: string; self: number; total: number }>();
  const fileSelf = new Map<string, number>();
  let idle = 0;

  // Inclusive time per function: walk the tree, counting each function once per stack (recursion-safe).
  const parentOf = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const root0 = prof.nodes.find((n) => !parentOf.has(n.id));
  const visit = (id: number, onStack: Set<string>): number => {
    const n = byId.get(id)!;
    const k = keyOf(n);
    const s = selfUs.get(id) ?? 0;
    const entry = fnSelf.get(k.key) ?? { name: k.name, location: k.location, self: 0, total: 0 };
    fnSelf.set(k.key, entry);
    entry.self += s;
    if (k.name === '(idle)') idle += s;
    fileSelf.set(k.name.startsWith('(') && !n.callFrame.url ? k.name : k.file, (fileSelf.get(k.name.startsWith('(') && !n.callFrame.url ? k.name : k.file) ?? 0) + s);
    const fresh = !onStack.has(k.key);
    if (fresh) onStack.add(k.key);
    let sub = s;
    for (const c of n.children ?? []) sub += visit(c, onStack);
    if (fresh) {
      onStack.delete(k.key);
      entry.total += sub;
    }
    return sub;
  };
  if (root0) visit(root0.id, new Set());

  const busy = Math.max(1, total - idle);
  const pct = (us: number) => Math.round((us / busy) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const functions = [...fnSelf.values()]
    .filter((f) => f.name !== '(idle)' && f.name !== '(root)')
    .sort((a, b) => b.self - a.self)
    .slice(0, top)
    .map((f) => ({ function: f.name, location: f.location, selfMs: ms(f.self), selfPct: pct(f.self), totalMs: ms(f.total), totalPct: pct(f.total) }));
  const files = [...fileSelf.entries()]
    .filter(([f]) => f !== '(idle)' && f !== '(root)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([file, s]) => ({ file, selfMs: ms(s), selfPct: pct(s) }));
  return { durationMs: ms(total), idlePct: Math.round((idle / Math.max(1, total)) * 1000) / 10, functions, files };
}

/** Inclusive time of functions whose location starts with `prefix` (e.g. `src/`), sorted descending. */
export function inclusiveUnder(path: string, root: string, prefix: string, top = 25, skipMs = 0): HotFunction[] {
  const all = summarizeCpuProfile(path, root, Number.MAX_SAFE_INTEGER, skipMs).functions;
  return all
    .filter((f) => f.location.startsWith(prefix))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
}
