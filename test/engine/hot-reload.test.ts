import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { startTestServer, type TestServer } from '../support/server.js';

const policyFor = (host: string) => `version: 1\negress:\n  - identity: "*"\n    allow:\n      - { id: only, host: ${host} }\n`;

let server: TestServer;
let envoy: EnvoyExtAuthzDriver;
beforeAll(async () => {
  server = await startTestServer(policyFor('one.example.com'), { watch: true });
  envoy = new EnvoyExtAuthzDriver(server.grpcPort);
});
afterAll(async () => {
  envoy.close();
  await server.stop();
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}
const allowed = async (host: string) => (await envoy.check({ method: 'GET', authority: host, path: '/' })).allowed;

describe('policy file hot reload', () => {
  it('a valid edit of the watched file replaces the policy', async () => {
    expect(await allowed('one.example.com')).toBe(true);
    writeFileSync(server.policyPath, policyFor('two.example.com'));
    await eventually(async () => await allowed('two.example.com'));
    expect(await allowed('one.example.com')).toBe(false);
  });

  it('an atomic rename (how editors and config management write) is picked up too', async () => {
    const tmp = join(server.dir, 'policy.yaml.tmp');
    writeFileSync(tmp, policyFor('three.example.com'));
    renameSync(tmp, server.policyPath);
    await eventually(async () => await allowed('three.example.com'));
  });

  it('an invalid edit is rejected and the previous policy keeps serving', async () => {
    const versionBefore = server.policies.current.version;
    writeFileSync(server.policyPath, 'version: 1\negress:\n  - identity: "*"\n    allow:\n      - { host: "bad*host" }\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(server.policies.current.version).toBe(versionBefore);
    expect(await allowed('three.example.com')).toBe(true);
  });
});
