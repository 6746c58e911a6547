import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { fakeLookup } from '../support/server.js';
import { mountSmallDisk, type SmallDisk } from '../support/tmpfs.js';

const policyFor = (host: string) => `version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: only, host: ${host} }\n`;

const disk = mountSmallDisk();
const skipReason = typeof disk === 'string' ? disk : undefined;
if (skipReason) console.warn(`disk-full tests skipped: ${skipReason}`);
const small = disk as SmallDisk;

afterAll(() => {
  if (!skipReason) small.unmount();
});

/** A port nothing listens on right now (the child's logs are buffered, so it cannot tell us its ports). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe.skipIf(skipReason !== undefined)('disk full (a real ENOSPC on a 512 KiB tmpfs)', () => {
  let server: RunningServer;
  let dataDir: string;
  let envoy: EnvoyExtAuthzDriver;
  const admin = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${server.adminPort}${path}`, init);

  beforeAll(async () => {
    dataDir = join(small.dir, 'api');
    mkdirSync(dataDir);
    const policyDir = mkdtempSync(join(tmpdir(), 'tollgate-disk-full-'));
    writeFileSync(join(policyDir, 'policy.yaml'), policyFor('one.example.com'));
    const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir, policyFile: join(policyDir, 'policy.yaml'), watchPolicy: false }, {});
    server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: fakeLookup, decisionSink: { record: () => undefined } });
    envoy = new EnvoyExtAuthzDriver(server.grpcPort);
  });
  afterAll(async () => {
    envoy?.close();
    await server?.close();
    small.free();
  });

  it('PUT /v1/policy on a full disk answers 507 with a JSON error, leaves no temp file, and the previous version keeps deciding', async () => {
    const before = await (await admin('/v1/policy')).json();
    small.fill();
    try {
      const res = await admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyFor('two.example.com') });
      expect(res.status).toBe(507);
      const body = await res.json();
      expect(body).toMatchObject({ error: 'storage_unavailable', code: 'ENOSPC', current_etag: before.etag });
      expect(body.message).toMatch(/ENOSPC/);
      expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect((await (await admin('/v1/policy')).json()).etag).toBe(before.etag);
      expect((await envoy.check({ method: 'GET', authority: 'one.example.com', path: '/' })).allowed).toBe(true);
      expect((await envoy.check({ method: 'GET', authority: 'two.example.com', path: '/' })).allowed).toBe(false);
    } finally {
      small.free();
    }
  });

  it('/readyz answers 503 naming the reason while the data directory cannot be written, and ready again once space is freed', async () => {
    small.fill();
    try {
      const res = await admin('/readyz');
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe('not_ready');
      expect(JSON.stringify(body.reasons)).toMatch(/ENOSPC/);
      expect(await (await admin('/metrics')).text()).toMatch(/^tollgate_storage_writable 0$/m);
    } finally {
      small.free();
    }
    const res = await admin('/readyz');
    expect(res.status).toBe(200);
    expect(await (await admin('/metrics')).text()).toMatch(/^tollgate_storage_writable 1$/m);
    const put = await admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyFor('two.example.com') });
    expect(put.status).toBe(200);
  });
});

describe.skipIf(skipReason !== undefined)('tollgate serve survives a policy file edit on a full disk', () => {
  let child: ChildProcess | undefined;
  let out = '';
  let exited: number | null | undefined;
  afterAll(async () => {
    if (child && exited === undefined) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    small.free();
  });

  it('the reload fails with ENOSPC, is logged and counted, and the process keeps answering with the previous policy', async () => {
    const dataDir = join(small.dir, 'serve');
    mkdirSync(dataDir);
    const policyDir = mkdtempSync(join(tmpdir(), 'tollgate-serve-enospc-'));
    const policyFile = join(policyDir, 'policy.yaml');
    writeFileSync(policyFile, policyFor('one.example.com'));
    const grpcPort = await freePort();
    const adminPort = await freePort();
    child = spawn(process.execPath, ['bin/tollgate.js', 'serve', '--policy', policyFile, '--data', dataDir, '--grpc', `127.0.0.1:${grpcPort}`, '--admin', `127.0.0.1:${adminPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TOLLGATE_VISIBILITY: 'off' },
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (exited = code));
    try {
      await eventually('tollgate serving', async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200 ? true : undefined), 1200);
      small.fill();
      writeFileSync(policyFile, policyFor('two.example.com'));
      await eventually('the failed reload counted', async () => {
        if (exited !== undefined) throw new Error('exited');
        const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        return /tollgate_background_errors_total\{task="policy-file-reload"\} [1-9]/.test(metrics) ? true : undefined;
      }, 1200);
      expect(exited).toBeUndefined();
      expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
      const envoy = new EnvoyExtAuthzDriver(grpcPort);
      expect((await envoy.check({ method: 'GET', authority: 'one.example.com', path: '/' })).allowed).toBe(true);
      envoy.close();
    } catch (err) {
      throw new Error(`${(err as Error).message}; exit code ${exited}; output:\n${out.slice(-3000)}`);
    } finally {
      small.free();
      rmSync(policyDir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe.skipIf(skipReason !== undefined)('inventory snapshots on a full disk', () => {
  it('a snapshot that failed with ENOSPC is reported, and the next one after space is freed is written', async () => {
    const dataDir = join(small.dir, 'inventory');
    mkdirSync(dataDir);
    const writes: unknown[] = [];
    const store = await EmbeddedInventoryStore.open({ dataDir, snapshotIntervalMs: 0, onWrite: (err) => writes.push(err) });
    try {
      await store.apply('edges', [{ key: 'billing|api.stripe.com:443', at: Date.now(), counters: { requests: 1 } }]);
      small.fill();
      try {
        await expect(store.flush()).rejects.toThrow(/ENOSPC/);
      } finally {
        small.free();
      }
      expect((writes[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
      await store.apply('edges', [{ key: 'billing|files.stripe.com:443', at: Date.now(), counters: { requests: 1 } }]);
      await store.flush();
      expect(writes[writes.length - 1]).toBeUndefined();
      const snapshot = readFileSync(join(dataDir, 'inventory.json'), 'utf8');
      expect(snapshot).toContain('api.stripe.com');
      expect(snapshot).toContain('files.stripe.com');
      expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await store.close().catch(() => undefined);
      small.free();
    }
    expect(existsSync(join(dataDir, 'inventory.json'))).toBe(true);
  });
});
