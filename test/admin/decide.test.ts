import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POLICY } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(TEST_POLICY);
});
afterAll(async () => {
  await server.stop();
});

const whatIf = async (body: object) => (await server.admin('/v1/decide', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();

describe('POST /v1/decide agrees with the Check', () => {
  it('a wildcard match whose host resolves to a private address is denied by the DNS guard, as the Check denies it', async () => {
    const answer = await whatIf({ principal: 'spiffe://prod.example/ns/billing/sa/web', host: 'db.internal.test', method: 'GET', path: '/' });
    expect(answer).toMatchObject({ identity: 'billing', allowed: false, verdict: 'deny', rule: 'ssrf-guard' });
  });

  it('the same wildcard rule allows a host that resolves publicly', async () => {
    const answer = await whatIf({ principal: 'spiffe://prod.example/ns/billing/sa/web', host: 'dashboard.stripe.com', method: 'GET', path: '/' });
    expect(answer).toMatchObject({ allowed: true, rule: 'stripe-wild' });
  });
});
