import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `bench/results/`, next to this library. */
export const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export interface MachineInfo {
  node: string;
  v8: string;
  platform: string;
  kernel: string;
  cpuModel: string;
  cpuCount: number;
  memoryMiB: number;
  date: string;
}

/** Where and on what a benchmark ran; stored with every result file. */
export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpuCount: cpu.length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    date: new Date().toISOString(),
  };
}

/** Writes `bench/results/<name>.json` (pretty-printed, machine info under `machine`); returns the path. */
export function writeResult(name: string, data: Record<string, unknown>): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid result name ${JSON.stringify(name)}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  const body = { name, machine: machineInfo(), ...data };
  writeFileSync(path, `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return path;
}

/** Share of all CPUs busy over `ms` (from /proc/stat; Linux), e.g. to warn when other work skews a run. */
export async function systemBusy(ms = 1000): Promise<number | undefined> {
  const sample = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  if (!a || !b || b.total === a.total) return undefined;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}
