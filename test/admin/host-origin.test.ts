import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { fakeLookup } from '../support/server.js';

const POLICY_A = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: a, host: a.example.com }\n';
const POLICY_B = 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: b, host: b.example.com }\n';

/** node:http, because fetch() will not let a caller choose `Host`, and a rebinding page's browser sends its own name there. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...(body ? { 'content-type': 'application/yaml' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let dir: string;
let server: RunningServer;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-host-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY_A);
  const config = loadConfig(
    { grpcAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', dataDir: join(dir, 'data'), policyFile: join(dir, 'policy.yaml'), watchPolicy: false, adminAllowedHosts: ['tollgate-admin.internal'] },
    {},
  );
  server = await startServer(config, { logger: pino({ level: 'silent' }), lookup: fakeLookup, decisionSink: { record: () => undefined } });
  port = server.adminPort;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const currentEtag = async () => (await send(port, 'GET', '/v1/policy', { host: `127.0.0.1:${port}` })).json.etag;

describe('admin API against DNS rebinding and cross-site requests (no token: the loopback default)', () => {
  it('a PUT whose Host is a rebound web name is refused with 421 and the policy stays', async () => {
    const before = await currentEtag();
    const res = await send(port, 'PUT', '/v1/policy', { host: `attacker.example:${port}` }, POLICY_B);
    expect(res.status).toBe(421);
    expect(res.json.error).toBe('misdirected_request');
    expect(String(res.json.message)).toContain('attacker.example');
    expect(await currentEtag()).toBe(before);
  });

  it('reads with a foreign Host are refused too (a rebound page could read the policy and metrics)', async () => {
    expect((await send(port, 'GET', '/v1/policy', { host: 'attacker.example' })).status).toBe(421);
    expect((await send(port, 'GET', '/metrics', { host: 'attacker.example' })).status).toBe(421);
  });

  it('health probes answer whatever the Host (load balancers and kubelets use their own)', async () => {
    expect((await send(port, 'GET', '/healthz', { host: 'attacker.example' })).status).toBe(200);
  });

  it('IP literals, localhost and configured names are accepted as Host', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `tollgate-admin.internal:${port}`, `[::1]:${port}`]) {
      expect((await send(port, 'GET', '/v1/policy', { host })).status, host).toBe(200);
    }
  });

  it('a state-changing request carrying a foreign Origin is refused with 403', async () => {
    const before = await currentEtag();
    const res = await send(port, 'PUT', '/v1/policy', { host: `127.0.0.1:${port}`, origin: 'http://attacker.example' }, POLICY_B);
    expect(res.status).toBe(403);
    expect(res.json.error).toBe('forbidden_origin');
    expect(await currentEtag()).toBe(before);
  });

  it('without a token, a browser request (Origin or Sec-Fetch-Site: cross-site) may not change state, even from the same origin', async () => {
    const sameOrigin = await send(port, 'PUT', '/v1/policy', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }, POLICY_B);
    expect(sameOrigin.status).toBe(403);
    expect(sameOrigin.json.error).toBe('browser_request_refused');
    const crossSite = await send(port, 'POST', '/v1/decide', { host: `localhost:${port}`, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, '{"identity":"x","host":"a.example.com"}');
    expect(crossSite.status).toBe(403);
  });

  it('a plain client (curl: no Origin, no Sec-Fetch-Site) on loopback still changes the policy', async () => {
    const res = await send(port, 'PUT', '/v1/policy', { host: `127.0.0.1:${port}` }, POLICY_B);
    expect(res.status).toBe(200);
  });
});
