/**
 * Summarises a V8 .cpuprofile (`node --cpu-prof`) over chosen time windows only: the PUT rounds of the
 * fan-out, not the initial sync of 1,000 streams before them. Windows are in µs of the monotonic clock, which
 * is what both `process.hrtime` (in any process on the machine) and the profile's sample times use on Linux.
 */
import { readFileSync } from 'node:fs';
import type { CpuProfile, ProfileNode } from '../lib/cpuprofile.js';

export interface WindowedFunction {
  function: string;
  location: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface WindowedProfile {
  windowMs: number;
  busyMs: number;
  /** Busy time by file or package (self time). */
  files: Array<{ file: string; selfMs: number; selfPct: number }>;
  /** Hottest functions by self time. */
  self: WindowedFunction[];
  /** Functions under `src/` by inclusive time: which part of Tollgate the time is spent in. */
  tollgate: WindowedFunction[];
}

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function fileOf(url: string, root: string): string {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = u.slice(root.length).replace(/^\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return u.startsWith('node:') ? 'node:internal' : u;
}

export function summarizeWindows(path: string, windows: ReadonlyArray<readonly [number, number]>, root: string, top = 15): WindowedProfile {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const name = n.callFrame.functionName || '(anonymous)';
    const file = fileOf(n.callFrame.url, root);
    return { key: `${name}\u0000${n.callFrame.url}:${n.callFrame.lineNumber}`, name, file, location: file ? `${file}:${n.callFrame.lineNumber + 1}` : name };
  };
  const fns = new Map<string, { name: string; location: string; self: number; total: number }>();
  const files = new Map<string, number>();
  let t = prof.startTime;
  let busy = 0;
  const inWindow = (at: number) => windows.some(([a, b]) => at >= a && at <= b);
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (!inWindow(t)) continue;
    const leaf = byId.get(prof.samples[i]!)!;
    const leafKey = key(leaf);
    if (leafKey.name === '(idle)' || leafKey.name === '(program)' || leafKey.name === '(root)') {
      if (leafKey.name === '(program)') {
        busy += dt;
        files.set('(program: native, outside JS)', (files.get('(program: native, outside JS)') ?? 0) + dt);
      }
      continue;
    }
    busy += dt;
    const fileKey = leafKey.file || leafKey.name;
    files.set(fileKey, (files.get(fileKey) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id)!);
      if (k.name === '(root)') break;
      const e = fns.get(k.key) ?? { name: k.name, location: k.location, self: 0, total: 0 };
      fns.set(k.key, e);
      if (id === leaf.id) e.self += dt;
      if (!seen.has(k.key)) {
        seen.add(k.key);
        e.total += dt;
      }
    }
  }
  const windowUs = windows.reduce((s, [a, b]) => s + (b - a), 0);
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const out = (f: { name: string; location: string; self: number; total: number }): WindowedFunction => ({
    function: f.name,
    location: f.location,
    selfMs: ms(f.self),
    selfPct: pct(f.self),
    totalMs: ms(f.total),
    totalPct: pct(f.total),
  });
  const list = [...fns.values()];
  return {
    windowMs: ms(windowUs),
    busyMs: ms(busy),
    files: [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([file, s]) => ({ file, selfMs: ms(s), selfPct: pct(s) })),
    self: list.sort((a, b) => b.self - a.self).slice(0, top).map(out),
    tollgate: list
      .filter((f) => f.location.startsWith('src/'))
      .sort((a, b) => b.total - a.total)
      .slice(0, top)
      .map(out),
  };
}
