import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { decisionOf } from '../support/authz-metadata.js';
import { TEST_POLICY } from '../support/policies.js';

/** README "Durability": a Check acknowledged this long before kill -9 is in the audit log (20 ms bus + group commits, with margin for a loaded machine). */
const PROMISED_WINDOW_MS = 1000;
const ROOT = new URL('../..', import.meta.url).pathname;

/** `tollgate serve` in its own process on free loopback ports; resolves with its gRPC port once it serves. */
function serve(dir: string): Promise<{ child: ChildProcess; grpcPort: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--policy', join(dir, 'policy.yaml'), '--data', join(dir, 'data'), '--grpc', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--no-xds'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TOLLGATE_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += String(c)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('tollgate serving')) return;
      clearTimeout(timer);
      resolve({ child, grpcPort: Number((JSON.parse(line) as { grpc: string }).grpc.split(':').pop()) });
    });
  });
}

/** Checks from `workers` concurrent callers until `stop()`; every acknowledged decision with the time its answer arrived. */
function load(grpcPort: number, workers: number) {
  const acked: Array<{ id: string; at: number }> = [];
  let running = true;
  const drivers = Array.from({ length: workers }, () => new EnvoyExtAuthzDriver(grpcPort));
  const done = Promise.all(
    drivers.map(async (d, w) => {
      for (let i = 0; running; i++) {
        try {
          const out = await d.check({ method: 'POST', authority: 'api.stripe.com', path: `/v1/charges/ch_${w}_${i}`, peerPrincipal: 'spiffe://prod.example/ns/billing/sa/web' });
          const id = decisionOf(out.raw).decisionId;
          if (id) acked.push({ id, at: Date.now() });
        } catch {
          return;
        }
      }
    }),
  );
  return {
    acked,
    async stop() {
      running = false;
      await done;
      for (const d of drivers) d.close();
    },
  };
}

async function storedDecisionIds(dataDir: string): Promise<Set<string>> {
  const store = await EmbeddedAuditStore.open({ dataDir, maintenanceIntervalMs: 0 });
  const ids = new Set<string>();
  try {
    let cursor: string | undefined;
    do {
      const page = await store.query({ kind: 'decision', limit: 1000, cursor });
      for (const r of page.records) if (r.decision_id) ids.add(r.decision_id);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  } finally {
    await store.close();
  }
  return ids;
}

describe('audit durability under kill -9', () => {
  it('loses no acknowledged decision older than the promised window, over two kill -9 rounds, and the chain verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-kill9-'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const all: Array<{ id: string; at: number; killedAt: number }> = [];
    for (let round = 0; round < 2; round++) {
      const { child, grpcPort } = await serve(dir);
      const l = load(grpcPort, 16);
      // Bounded: load until 1,500 decisions are answered or 4 s pass, whichever comes first.
      const started = Date.now();
      while (l.acked.length < 1500 && Date.now() - started < 4000) await new Promise((r) => setTimeout(r, 20));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await l.stop();
      for (const a of l.acked) all.push({ ...a, killedAt });
      expect(l.acked.length).toBeGreaterThan(100);
    }
    const stored = await storedDecisionIds(join(dir, 'data'));
    const old = all.filter((a) => a.at < a.killedAt - PROMISED_WINDOW_MS);
    const lostOld = old.filter((a) => !stored.has(a.id));
    const lostRecent = all.filter((a) => a.at >= a.killedAt - PROMISED_WINDOW_MS && !stored.has(a.id));
    console.info(`kill -9: ${all.length} acknowledged, ${stored.size} stored; lost older than ${PROMISED_WINDOW_MS} ms: ${lostOld.length}; lost inside the window: ${lostRecent.length} (the oldest answered ${Math.max(0, ...lostRecent.map((a) => a.killedAt - a.at))} ms before the kill)`);
    expect(old.length).toBeGreaterThan(100);
    expect(lostOld).toEqual([]);
    const report = await verifyAuditDir(join(dir, 'data', 'audit'));
    expect(report.ok).toBe(true);
    expect(report.quarantined).toBeUndefined();
  }, 180_000);
});
