import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { fakeLookup } from '../support/server.js';

const policyFor = (host: string) => `version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: only, host: ${host} }\n`;

const dirs: string[] = [];
const servers: RunningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data directory and policy file as a previous run left them. */
function prepared(policy: string | undefined): { dir: string; dataDir: string; policyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-startup-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const policyFile = join(dir, 'policy.yaml');
  if (policy !== undefined) writeFileSync(policyFile, policy);
  return { dir, dataDir, policyFile };
}

async function start(dataDir: string, policyFile: string): Promise<{ server: RunningServer; logs: Array<Record<string, unknown>> }> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir, policyFile, watchPolicy: false }, {});
  const server = await startServer(config, { logger: pino({ level: 'info' }, sink), lookup: fakeLookup, decisionSink: { record: () => undefined } });
  servers.push(server);
  return { server, logs };
}

async function allowed(server: RunningServer, host: string): Promise<boolean> {
  const envoy = new EnvoyExtAuthzDriver(server.grpcPort);
  try {
    return (await envoy.check({ method: 'GET', authority: host, path: '/' })).allowed;
  } finally {
    envoy.close();
  }
}

describe('startup with damaged or missing files', () => {
  it('a corrupt inventory.json is quarantined, logged with its name, and the server comes up with an empty inventory', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    writeFileSync(join(dataDir, 'inventory.json'), '{"format":"tollgate-inventory","version":1,"tables":{"edges":[["a",1,2,{}');
    const { server, logs } = await start(dataDir, policyFile);
    expect((await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).status).toBe(200);
    expect(await allowed(server, 'one.example.com')).toBe(true);
    const moved = readdirSync(dataDir).filter((f) => f.startsWith('inventory.json.corrupt-'));
    expect(moved).toHaveLength(1);
    expect(readFileSync(join(dataDir, moved[0]!), 'utf8')).toContain('tollgate-inventory');
    expect(logs.some((l) => l.level === 50 && String(l.msg).includes(join(dataDir, 'inventory.json')) && String(l.msg).includes(moved[0]!))).toBe(true);
  });

  it('a corrupt stored policy is quarantined, the log names the file, and the server comes up on the policy file', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    writeFileSync(join(dataDir, 'policy.json'), '{"version": 3, "text": "version: 1\\n", "sha256": "x", "upd');
    const { server, logs } = await start(dataDir, policyFile);
    expect(await allowed(server, 'one.example.com')).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.startsWith('policy.json.corrupt-'))).toHaveLength(1);
    expect(logs.some((l) => l.level === 50 && String(l.msg).includes(join(dataDir, 'policy.json')))).toBe(true);
  });

  it('a stored policy of the wrong shape is refused the same way, not installed', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    writeFileSync(join(dataDir, 'policy.json'), '{"version": "seven", "text": 5}\n');
    const { server } = await start(dataDir, policyFile);
    expect(await allowed(server, 'one.example.com')).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.startsWith('policy.json.corrupt-'))).toHaveLength(1);
  });

  it('a deleted policy file does not prevent a restart: the stored version serves and the log names the missing file', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    const first = await start(dataDir, policyFile);
    const put = await fetch(`http://127.0.0.1:${first.server.adminPort}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: policyFor('api.example.com') });
    expect(put.status).toBe(200);
    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    unlinkSync(policyFile);
    const { server, logs } = await start(dataDir, policyFile);
    expect(await allowed(server, 'api.example.com')).toBe(true);
    expect(logs.some((l) => l.level === 50 && String(l.msg).includes(policyFile))).toBe(true);
  });

  it('a missing policy file with nothing stored fails with an error that names the file', async () => {
    const { dataDir, policyFile } = prepared(undefined);
    await expect(start(dataDir, policyFile)).rejects.toThrow(policyFile);
  });

  it('temp files left by a write cut short are removed at startup', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    writeFileSync(join(dataDir, '.policy.json.123.456.tmp'), '{"half');
    await start(dataDir, policyFile);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('tollgate serve when startup fails', () => {
  it('exits with status 1 and the reason instead of hanging when the gRPC port is taken', async () => {
    const { dataDir, policyFile } = prepared(policyFor('one.example.com'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const child = spawn(process.execPath, ['bin/tollgate.js', 'serve', '--policy', policyFile, '--data', dataDir, '--grpc', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    // Bounded: a hung process is killed after 30 s and reported as such.
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 30 s');
      }, 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    taken.close();
    expect(code).toBe(1);
    expect(err).toMatch(/tollgate serve: .*/);
  }, 40_000);
});
