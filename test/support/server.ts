import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { DecisionRecord } from '../../src/audit/decision-log.js';
import type { ScrubRecord } from '../../src/audit/scrub-log.js';
import { startServer, type RunningServer } from '../../src/server.js';

export interface TestServer extends RunningServer {
  dir: string;
  policyPath: string;
  decisions: DecisionRecord[];
  scrubs: ScrubRecord[];
  admin(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Fake DNS for the wildcard SSRF check: names under `internal.test` resolve privately, the rest publicly. */
export async function fakeLookup(host: string): Promise<string[]> {
  if (host.endsWith('.internal.test')) return ['10.0.0.9'];
  if (host.startsWith('rebind.')) return ['93.184.216.34', '169.254.169.254'];
  return ['93.184.216.34'];
}

/** Starts a real Tollgate (gRPC + admin on free loopback ports) in a fresh data directory. */
export async function startTestServer(policy: string, opts: { adminToken?: string; dir?: string; watch?: boolean } = {}): Promise<TestServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const policyPath = join(dir, 'policy.yaml');
  if (!opts.dir) writeFileSync(policyPath, policy);
  const config = loadConfig(
    { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: policyPath, adminToken: opts.adminToken, watchPolicy: opts.watch ?? false },
    {},
  );
  const decisions: DecisionRecord[] = [];
  const scrubs: ScrubRecord[] = [];
  const server = await startServer(config, {
    logger: pino({ level: 'silent' }),
    lookup: fakeLookup,
    decisionSink: { record: (r) => decisions.push(r) },
    scrubSink: { record: (r) => scrubs.push(r) },
  });
  return {
    ...server,
    dir,
    policyPath,
    decisions,
    scrubs,
    admin: (path, init) => fetch(`http://127.0.0.1:${server.adminPort}${path}`, init),
    async stop() {
      await server.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
