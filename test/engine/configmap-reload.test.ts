import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { fakeLookup } from '../support/server.js';

const policyFor = (host: string) => `version: 1\negress:\n  - identity: "*"\n    allow: [{ host: ${host}, scheme: https }]\n`;

let server: RunningServer | undefined;
let driver: EnvoyExtAuthzDriver | undefined;
let dir: string | undefined;

afterEach(async () => {
  driver?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = driver = dir = undefined;
});

async function start(policyFile: string): Promise<RunningServer> {
  const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir!, 'data'), policyFile, watchPolicy: true }, {});
  server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: fakeLookup });
  driver = new EnvoyExtAuthzDriver(server.grpcPort);
  return server;
}

/** Polls until the serving policy reaches `version` (bounded: the test fails rather than hangs). */
async function untilVersion(s: RunningServer, version: number): Promise<void> {
  for (let i = 0; i < 200 && s.policies.current.version < version; i++) await new Promise((r) => setTimeout(r, 50));
  expect(s.policies.current.version).toBe(version);
}

async function allowed(host: string): Promise<boolean> {
  return (await driver!.check({ method: 'GET', authority: host, path: '/', scheme: 'https' })).allowed;
}

/**
 * The kubelet's atomic writer, step by step as pkg/volume/util/atomic_writer.go `Write` does it on Linux: a new
 * timestamped directory with the payload, a `..data_tmp` symlink to it, `..data_tmp` renamed over `..data`, the
 * user-visible symlink created if missing, and the old timestamped directory removed.
 */
function kubeletWrite(volume: string, files: Record<string, string>, stamp: string): void {
  const tsDir = `..${stamp}`;
  mkdirSync(join(volume, tsDir));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(volume, tsDir, name), text);
  let oldTsDir: string | undefined;
  try {
    oldTsDir = readlinkSync(join(volume, '..data'));
  } catch {
    oldTsDir = undefined;
  }
  symlinkSync(tsDir, join(volume, '..data_tmp'));
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(volume, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (oldTsDir) rmSync(join(volume, oldTsDir), { recursive: true, force: true });
}


describe('policy file reload', () => {
  it('a policy mounted from a ConfigMap is reloaded when the kubelet swaps the ..data symlink, every time', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-configmap-'));
    const volume = join(dir, 'config');
    mkdirSync(volume);
    kubeletWrite(volume, { 'policy.yaml': policyFor('api.one.example') }, '2026_12_02_04_00_00.1111');
    const s = await start(join(volume, 'policy.yaml'));
    expect(s.policies.current.version).toBe(1);
    expect(await allowed('api.one.example')).toBe(true);
    expect(await allowed('api.two.example')).toBe(false);

    kubeletWrite(volume, { 'policy.yaml': policyFor('api.two.example') }, '2026_12_02_04_05_00.2222');
    await untilVersion(s, 2);
    expect(await allowed('api.two.example')).toBe(true);
    expect(await allowed('api.one.example')).toBe(false);

    kubeletWrite(volume, { 'policy.yaml': policyFor('api.three.example') }, '2026_12_02_04_10_00.3333');
    await untilVersion(s, 3);
    expect(await allowed('api.three.example')).toBe(true);
  });

  it('an invalid policy from a ConfigMap update is refused and the previous version keeps serving', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-configmap-'));
    const volume = join(dir, 'config');
    mkdirSync(volume);
    kubeletWrite(volume, { 'policy.yaml': policyFor('api.one.example') }, '2026_12_02_04_00_00.1111');
    const s = await start(join(volume, 'policy.yaml'));
    kubeletWrite(volume, { 'policy.yaml': 'version: 1\negress: [{ identity: "*", allow: [{ host: "a.*.example" }] }]\n' }, '2026_12_02_04_05_00.2222');
    kubeletWrite(volume, { 'policy.yaml': policyFor('api.two.example') }, '2026_12_02_04_06_00.3333');
    await untilVersion(s, 2);
    expect(await allowed('api.two.example')).toBe(true);
  });

  it('a plain rename over the policy file and an in-place write are still picked up', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-configmap-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyFor('api.one.example'));
    const s = await start(file);
    writeFileSync(join(dir, '.policy.yaml.tmp'), policyFor('api.two.example'));
    renameSync(join(dir, '.policy.yaml.tmp'), file);
    await untilVersion(s, 2);
    expect(await allowed('api.two.example')).toBe(true);
    writeFileSync(file, policyFor('api.three.example'));
    await untilVersion(s, 3);
    expect(await allowed('api.three.example')).toBe(true);
  });
});
