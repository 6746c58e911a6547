import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';

let child: ChildProcess;
let dir: string;
const lines: string[] = [];
const waiters: Array<() => void> = [];

/** Resolves with the first stdout line matching, while the server keeps running (bounded: 20 s). */
function lineMatching(test: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no log line with ${what} while the server ran; got:\n${lines.join('\n')}`)), 20_000);
    const check = () => {
      const hit = lines.find(test);
      if (hit) {
        clearTimeout(timer);
        resolve(hit);
      } else waiters.push(check);
    };
    check();
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-logs-'));
  child = spawn('node', ['bin/tollgate.js', 'serve', '--policy', 'examples/policy.yaml', '--demo', '--grpc', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--data', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tollgate serve logs', () => {
  it('says it is serving while it runs, and each decision line reaches stdout promptly with one time key', async () => {
    const serving = JSON.parse(await lineMatching((l) => l.includes('"tollgate serving"'), '"tollgate serving"'));
    const grpcPort = Number(String(serving.grpc).split(':').pop());
    const envoy = new EnvoyExtAuthzDriver(grpcPort);
    await envoy.check({ method: 'GET', authority: 'quiet.example.com', path: '/' });
    envoy.close();
    const decision = await lineMatching((l) => l.includes('"audit":"decision"'), 'a decision');
    expect(decision.match(/"time":/g)).toHaveLength(1);
    expect(JSON.parse(decision)).toMatchObject({ destination: 'quiet.example.com:default', verdict: 'deny' });
    expect(child.exitCode).toBeNull();
  });
});
