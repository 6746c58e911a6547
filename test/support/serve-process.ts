import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EmbeddedAuditStore } from '../../src/store/embedded/audit-segments.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { decisionOf } from './authz-metadata.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** `tollgate serve` in its own process on free loopback ports; resolves with its gRPC port once it serves. */
export function serveProcess(dir: string): Promise<{ child: ChildProcess; grpcPort: number }> {
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
export function checkLoad(grpcPort: number, workers: number) {
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

export async function storedDecisionIds(dataDir: string): Promise<Set<string>> {
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

