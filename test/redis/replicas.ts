import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { fakeLookup } from '../support/server.js';

export interface Replica extends RunningServer {
  id: string;
  dir: string;
  admin(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** One Tollgate replica (own ports, own data dir) sharing state through `redisUrl`. */
export async function startReplica(id: string, redisUrl: string, opts: { policy?: string; prefix?: string; visibility?: boolean } = {}): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-replica-${id}-`));
  let policyFile: string | undefined;
  if (opts.policy !== undefined) {
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, opts.policy);
  }
  const config = loadConfig(
    { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile, watchPolicy: false, redisUrl, redisPrefix: opts.prefix ?? 'tollgate:', replicaId: id, visibility: opts.visibility ?? true },
    {},
  );
  const server = await startServer(config, { logger: pino({ level: process.env.TOLLGATE_TEST_LOG ?? 'silent' }), lookup: fakeLookup, decisionSink: { record: () => undefined }, scrubSink: { record: () => undefined } });
  return {
    ...server,
    id,
    dir,
    admin: (path, init) => fetch(`http://127.0.0.1:${server.adminPort}${path}`, init),
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` is true; returns the milliseconds it took (printed by tests, never asserted). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const policyAllowing = (hosts: string[]) => `version: 1\negress:\n  - identity: "*"\n    allow:\n${hosts.map((h, i) => `      - { id: r${i}, host: ${h} }`).join('\n')}\n`;

export function putPolicy(r: Replica, text: string, ifMatch?: string): Promise<Response> {
  return r.admin('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml', ...(ifMatch ? { 'if-match': ifMatch } : {}) }, body: text });
}
