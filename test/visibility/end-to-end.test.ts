import { EXT_AUTHZ_NAMESPACE } from '../../src/authz/check-response.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditDir } from '../../src/audit/verify.js';
import { EnvoyExtAuthzDriver } from '../drivers/envoy-ext-authz-driver.js';
import { EnvoyExtProcDriver } from '../drivers/envoy-ext-proc-driver.js';
import { WebhookReceiver } from '../alerts/support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { join } from 'node:path';

const BILLING = 'spiffe://prod.example/ns/billing/sa/web';
const GITHUB_TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

function policy(hookUrl: string): string {
  return `
version: 1
identities:
  - { name: billing, match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" } }
egress:
  - identity: billing
    allow:
      - { id: stripe, host: api.stripe.com }
      - { id: paste, host: pastebin.com }
scrub:
  fingerprintKey: { value: "e2e-fingerprint-key-0123456789" }
alerts:
  sinks:
    - { name: ops, type: webhook, url: "${hookUrl}", secret: { value: "e2e-webhook-secret-0123456789" } }
  rules:
    - { name: tokens, type: token_misuse, sinks: [ops] }
  retry: { attempts: 5, baseMs: 10, maxMs: 50 }
`;
}

let receiver: WebhookReceiver;
let server: TestServer;

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One request through the gateway as Envoy runs it: Check, then ext_proc with ext_authz's dynamic metadata forwarded. */
async function send(requestId: string, authority: string, body: object, peerPrincipal?: string) {
  const authz = new EnvoyExtAuthzDriver(server.grpcPort);
  const proc = new EnvoyExtProcDriver(server.grpcPort);
  const check = await authz.check({ method: 'POST', authority, path: '/v1/things/42', peerPrincipal, headers: { 'x-request-id': requestId } });
  let processed;
  if (check.allowed) {
    const text = JSON.stringify(body);
    processed = await proc.process(
      {
        headers: [
          [':authority', authority],
          [':method', 'POST'],
          [':path', '/v1/things/42'],
          ['x-request-id', requestId],
          ['content-type', 'application/json'],
          ['content-length', String(Buffer.byteLength(text))],
        ],
        body: [Buffer.from(text)],
        metadata: { [EXT_AUTHZ_NAMESPACE]: check.dynamicMetadata },
      },
      { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', allowModeOverride: true, forwardingNamespaces: [EXT_AUTHZ_NAMESPACE] },
    );
  }
  authz.close();
  proc.close();
  return { check, processed };
}

beforeAll(async () => {
  receiver = await new WebhookReceiver({ failFirst: 2 }).start();
  server = await startTestServer(policy(receiver.url));
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

describe('visibility end to end: traffic in, inventory, alerts and audit out', () => {
  it('a GitHub token sent to pastebin.com is scrubbed, inventoried with its flags, and alerted through a flaky webhook', async () => {
    const out = await send('req-1', 'pastebin.com', { note: 'deploy key', token: GITHUB_TOKEN, owner: 'jane.doe@example.com' }, BILLING);
    expect(out.check.allowed).toBe(true);
    expect(out.processed?.body.toString()).not.toContain(GITHUB_TOKEN);
    await send('req-2', 'api.stripe.com', { email: 'jane.doe@example.com' }, BILLING);
    await send('req-3', 'evil.example.com', {}, BILLING);
    await server.events.flush();

    const tokens = await (await server.admin('/v1/inventory/tokens')).json();
    const gh = tokens.items.find((t: { type: string }) => t.type === 'github_token');
    expect(gh).toBeDefined();
    expect(JSON.stringify(gh)).toContain('foreign_destination');
    expect(JSON.stringify(gh)).toContain('outside_header');
    expect(JSON.stringify(tokens)).not.toContain(GITHUB_TOKEN);

    const pii = await (await server.admin('/v1/inventory/pii')).text();
    expect(pii).toContain('email');
    expect(pii).not.toContain('jane.doe');

    const dests = await (await server.admin('/v1/inventory/destinations?identity=billing')).text();
    expect(dests).toContain('api.stripe.com:443');
    expect(dests).toContain('evil.example.com');

    const delivered = await eventually(async () => (receiver.accepted.length > 0 ? receiver.accepted : undefined), 'alert delivery after retries');
    expect(receiver.deliveries.length).toBeGreaterThanOrEqual(3);
    expect(delivered[0]!.body).toContain('token_misuse');
    expect(delivered[0]!.body).not.toContain(GITHUB_TOKEN);
    expect(delivered[0]!.headers['x-tollgate-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('the audit log holds every decision and finding, survives a restart without losing a record, and its chain verifies', async () => {
    await server.events.flush();
    const before = await (await server.admin('/v1/audit?limit=1000')).json();
    expect(before.records.length).toBeGreaterThanOrEqual(5);
    expect(before.records.some((r: { kind: string; verdict?: string }) => r.kind === 'decision' && r.verdict === 'deny')).toBe(true);
    expect(JSON.stringify(before)).not.toContain(GITHUB_TOKEN);
    expect(JSON.stringify(before)).not.toContain('jane.doe');

    // Traffic right before the restart must not be lost either.
    await send('req-4', 'api.stripe.com', { n: 1 }, BILLING);
    const dir = server.dir;
    await server.close();
    server = await startTestServer('', { dir });
    const after = await (await server.admin('/v1/audit?limit=1000')).json();
    expect(after.records.length).toBe(before.records.length + 2);
    expect(after.records.some((r: { request_id?: string }) => r.request_id === 'req-4')).toBe(true);

    await send('req-5', 'api.stripe.com', { n: 2 }, BILLING);
    await server.events.flush();
    const report = await verifyAuditDir(join(dir, 'data', 'audit'));
    expect(report.ok).toBe(true);
  });
});
