import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { EnvoyGateway, type GatewayResult } from '../drivers/envoy-gateway.js';
import { XdsSotwDriver } from '../drivers/xds-sotw-driver.js';
import { WebhookReceiver } from '../alerts/support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { chromiumAvailable, launch, screenshot, watchPage } from './browser.js';

const TOKEN = 'ui-test-admin-token-0123456789abcdef';
const GITHUB_TOKEN = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
const EMAIL = 'jane.doe@example.com';
const BILLING = '10.0.1.5';
const LEGACY = '10.1.2.7';

const policy = (hook: string) => `
version: 1
identitySources: [source_cidr]
identities:
  - { name: billing, match: { sourceCidr: ["10.0.1.0/24"] } }
  - { name: legacy-batch, mode: report, match: { sourceCidr: ["10.1.2.0/24"] } }
egress:
  - identity: billing
    allow:
      - { id: stripe-api, host: api.stripe.com, methods: [GET, POST] }
      - { id: github-api, host: api.github.com }
  - identity: legacy-batch
    allow:
      - { id: legacy-s3, host: s3.amazonaws.com }
scrub:
  fingerprintKey: { value: "ui-test-fingerprint-key-0123456789" }
alerts:
  sinks:
    - { name: ops, type: webhook, url: "${hook}" }
  rules:
    - { name: denials, type: denied, threshold: 1, window: 5m, sinks: [ops] }
`;

const run = chromiumAvailable() ? describe : describe.skip;

let server: TestServer;
let receiver: WebhookReceiver;
let gateway: EnvoyGateway;
let envoy: XdsSotwDriver;
let browser: Browser;
let context: BrowserContext;
const problems: string[] = [];
let deniedDecisionId = '';

const accessLogs: Array<Record<string, unknown>> = [];

/** One request through the gateway; its access log entry gets upstream timings (Envoy fills them from the upstream) and is delivered later. */
async function send(source: string, method: string, authority: string, path: string, body?: object): Promise<GatewayResult> {
  const r = await gateway.send({ method, authority, path, sourceAddress: source, headers: body ? [['content-type', 'application/json']] : [], body: body ? [JSON.stringify(body)] : undefined });
  const entry = r.accessLog.entry as { common_properties: Record<string, unknown> } | undefined;
  if (entry && r.kind === 'upstream') {
    const latencyMs = 20 + accessLogs.length * 10;
    entry.common_properties.time_to_last_upstream_tx_byte = { seconds: '0', nanos: 1_000_000 };
    entry.common_properties.time_to_first_upstream_rx_byte = { seconds: '0', nanos: (1 + latencyMs) * 1_000_000 };
  }
  if (entry) accessLogs.push(entry);
  return r;
}

async function signedIn(hash = ''): Promise<Page> {
  const page = await context.newPage();
  const seen = watchPage(page);
  page.on('close', () => problems.push(...seen));
  await page.goto(`http://127.0.0.1:${server.adminPort}/ui/${hash}`);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Dashboard pages' }).waitFor();
  return page;
}

/** Pixels of the map canvas close to a colour: the map draws each verdict in its own colour. */
async function canvasPixels(page: Page, hex: string): Promise<number> {
  return page.locator('canvas').evaluate((c: HTMLCanvasElement, h: string) => {
    const want = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - want[0]!) + Math.abs(data[i + 1]! - want[1]!) + Math.abs(data[i + 2]! - want[2]!) < 60) n++;
    return n;
  }, hex);
}

// A real browser on a busy 2-core machine: first page loads can take seconds, so each test gets 120 s.
run('dashboard in a real browser', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    server = await startTestServer(policy(receiver.url), { adminToken: TOKEN });
    gateway = await EnvoyGateway.fromAds({ tollgatePort: server.grpcPort });
    // An Envoy that stays connected over ADS, for the gateways page.
    envoy = new XdsSotwDriver({ address: `127.0.0.1:${server.grpcPort}`, node: { id: 'egress-gw-1', cluster: 'egress-gateway' } });
    envoy.connect();
    for (let i = 0; i < 3; i++) expect((await send(BILLING, 'POST', 'api.stripe.com', `/v1/charges/ch_${i}`, { amount: 100 + i, receipt_email: EMAIL })).kind).toBe('upstream');
    expect((await send(BILLING, 'POST', 'api.github.com', '/repos/acme/app/dispatches', { ref: 'main', token: GITHUB_TOKEN })).kind).toBe('upstream');
    const denied = await send(BILLING, 'GET', 'evil.example.com', '/exfil');
    expect(denied.kind).toBe('local_reply');
    deniedDecisionId = JSON.parse((denied as { body: string }).body).decision_id;
    await send(BILLING, 'GET', 'evil.example.com', '/exfil');
    expect((await send(LEGACY, 'GET', 'files.example.org', '/export.csv')).kind).toBe('upstream');
    await send(LEGACY, 'GET', 's3.amazonaws.com', '/bucket/key');
    await gateway.deliverAccessLogs(accessLogs);
    await new Promise((r) => setTimeout(r, 100));
    await server.events.flush();
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    envoy?.close();
    gateway?.close();
    await server?.stop();
    await receiver?.stop();
  });

  it('a wrong token gets the login form again, the right one opens the egress map', async () => {
    const page = await context.newPage();
    const seen = watchPage(page);
    await page.goto(`http://127.0.0.1:${server.adminPort}/ui/`);
    await page.getByLabel('Admin token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('refused');
    expect(await page.getByLabel('Admin token').isVisible()).toBe(true);
    await screenshot(page, 'login-refused');
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Egress map' }).waitFor();
    // Signing out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('tollgate.adminToken'))).toBeNull();
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Egress map' }).waitFor();
    // A token that stops working (rotated) brings the form back on the next call.
    await page.evaluate(() => sessionStorage.setItem('tollgate.adminToken', 'rotated-away-token'));
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('sign in again');
    expect(seen).toEqual([]);
    await page.close();
  });

  it('the egress map shows allowed, denied and report-only edges in their colours, and an edge click shows its methods and times', async () => {
    const page = await signedIn('#/map');
    const table = page.getByTestId('edge-table');
    await table.waitFor();
    const row = (identity: string, dest: string) => table.locator('tr', { hasText: identity }).filter({ hasText: dest });
    expect(await row('billing', 'api.stripe.com:443').getAttribute('data-verdict')).toBe('allow');
    expect(await row('billing', 'evil.example.com').getAttribute('data-verdict')).toBe('deny');
    expect(await row('legacy-batch', 'files.example.org').getAttribute('data-verdict')).toBe('report_deny');
    expect(await row('billing', 'evil.example.com').textContent()).toContain('denied');
    expect(await row('legacy-batch', 'files.example.org').textContent()).toContain('report-only would-deny');
    expect(await canvasPixels(page, '#1a7f37')).toBeGreaterThan(50);
    expect(await canvasPixels(page, '#cf222e')).toBeGreaterThan(50);
    expect(await canvasPixels(page, '#b35900')).toBeGreaterThan(20);
    expect(await page.getByTestId('map-summary').textContent()).toContain('2 identities');

    // Click the canvas where the one red curve crosses the middle: that edge's details open.
    const red = await page.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const x = Math.floor(c.width / 2);
      const col = c.getContext('2d')!.getImageData(x, 0, 1, c.height).data;
      for (let y = 0; y < c.height; y++) if (Math.abs(col[y * 4]! - 0xcf) + Math.abs(col[y * 4 + 1]! - 0x22) + Math.abs(col[y * 4 + 2]! - 0x2e) < 30) return { x: x / devicePixelRatio, y: y / devicePixelRatio };
      return null;
    });
    expect(red).not.toBeNull();
    await page.locator('canvas').click({ position: { x: red!.x, y: red!.y + 1 } });
    expect(await page.getByTestId('edge-details').getByRole('heading').textContent()).toBe('billing → evil.example.com:default');

    await row('billing', 'api.stripe.com:443').getByRole('button').click();
    const details = page.getByTestId('edge-details');
    await details.getByRole('table').waitFor();
    const text = await details.textContent();
    expect(text).toContain('Methods: POST');
    expect(text).toContain('/v1/charges/');
    expect(text).toMatch(/First seen \d{4}-\d\d-\d\d/);
    expect(text).toContain('3 requests');
    expect(text).toContain('2xx × 3');
    expect(text).toMatch(/\b\d+(\.\d+)? ms/);
    await screenshot(page, 'map');

    // Search narrows the map to matching edges.
    await page.getByLabel('Search').fill('legacy');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    await page.close();
  });

  it('the token inventory shows fingerprints, issuer and flags, and never the raw token', async () => {
    const api = await (await server.admin('/v1/inventory/tokens', { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    const fp = api.items.find((t: { type: string }) => t.type === 'github_token').fingerprint as string;
    const page = await signedIn('#/tokens');
    const table = page.getByTestId('tokens-table');
    await table.waitFor();
    const row = table.locator('tr', { hasText: fp });
    expect(await row.textContent()).toContain('GitHub');
    expect(await row.textContent()).toContain('outside_header');
    expect(await row.textContent()).toContain('billing');
    expect(await page.content()).not.toContain(GITHUB_TOKEN);
    expect(await page.content()).not.toContain(GITHUB_TOKEN.slice(4, 20));
    await screenshot(page, 'tokens');
    await page.getByRole('link', { name: 'PII flows' }).click();
    const pii = page.getByTestId('pii-table');
    await pii.waitFor();
    const flow = pii.locator('tr', { hasText: 'api.stripe.com' }).filter({ hasText: 'email' });
    expect(await flow.textContent()).toMatch(/billing.*api\.stripe\.com.*email.*3/);
    expect(await flow.textContent()).toMatch(/redacted|masked|hashed|recorded/);
    expect(await page.content()).not.toContain(EMAIL);
    await screenshot(page, 'pii');
    await page.close();
  });

  it('the destinations table names the rule that allows each destination, or that none does', async () => {
    const page = await signedIn('#/destinations');
    const table = page.getByTestId('destinations-table');
    await table.waitFor();
    await expect.poll(() => table.locator('tr[data-destination="api.stripe.com:443"] [data-rule]').getAttribute('data-rule')).toBe('stripe-api');
    await expect.poll(() => table.locator('tr[data-destination^="evil.example.com"] [data-rule]').textContent()).toContain('no rule allows it');
    expect(await table.locator('tr[data-destination^="evil.example.com"]').textContent()).toContain('billing');
    expect(await table.locator('tr[data-destination="api.stripe.com:443"] svg.spark').getAttribute('aria-label')).toContain('3 requests');
    await screenshot(page, 'destinations');
    await page.close();
  });

  it('the audit search finds a decision by its id and shows the chain status', async () => {
    const page = await signedIn('#/audit');
    await page.getByLabel('Decision id').fill(deniedDecisionId);
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByTestId('audit-table').locator('tbody tr');
    // The decision and its access log entry share the decision id; nothing else matches.
    await expect.poll(() => rows.count()).toBe(2);
    for (const r of await rows.all()) expect(await r.getAttribute('data-decision-id')).toBe(deniedDecisionId);
    const decision = rows.filter({ hasText: 'default-deny' });
    expect(await decision.textContent()).toContain('evil.example.com');
    expect(await decision.textContent()).toContain('denied');
    expect(await page.getByTestId('chain-status').textContent()).toContain('intact');
    await screenshot(page, 'audit');
    await page.close();
  });

  it("the policy editor shows the diff and the observed edges a change would start denying, then saves with If-Match", async () => {
    const page = await signedIn('#/policy');
    await page.getByTestId('policy-version').waitFor();
    expect(await page.getByTestId('policy-version').textContent()).toContain('Version 1');
    await page.getByLabel('Host').fill('api.github.com');
    await page.getByLabel('Identity').fill('billing');
    await page.getByRole('button', { name: 'Decide' }).click();
    expect(await page.getByTestId('whatif-result').textContent()).toContain('github-api');

    const editor = page.getByLabel(/Proposed policy/);
    const text = await editor.inputValue();
    await editor.fill(text.replace(/\s*- \{ id: github-api, host: api\.github\.com \}/, ''));
    await page.getByRole('button', { name: 'Preview diff and impact' }).click();
    const diff = page.getByTestId('policy-diff');
    await diff.waitFor();
    expect(await diff.locator('.ddel').textContent()).toContain('github-api');
    const start = page.getByTestId('start-denying');
    expect(await start.textContent()).toContain('Would start denying: 1');
    expect(await start.locator('tbody tr').textContent()).toMatch(/billing.*api\.github\.com.*POST/);
    expect(await page.getByTestId('stop-denying').textContent()).toContain('Would stop denying: 0');
    expect(await page.getByTestId('report-mode').textContent()).toContain('files.example.org');
    await screenshot(page, 'policy');

    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('policy-version').textContent()).toContain('Version 2');

    // Someone else saves meanwhile: the editor's stale ETag gets a conflict, and nothing is saved.
    await editor.fill((await editor.inputValue()) + '\n# comment\n');
    await page.getByRole('button', { name: 'Preview diff and impact' }).click();
    await page.getByTestId('policy-diff').waitFor();
    const current = await (await server.admin('/v1/policy', { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/yaml' } })).text();
    expect((await server.admin('/v1/policy', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: `${current}\n# other\n` })).status).toBe(200);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('ETag mismatch');
    expect(server.policies.current.version).toBe(3);
    await page.close();

    // Every change, and the refused one, is in the audit log with who made it.
    const audit = await signedIn('#/audit');
    await audit.getByLabel('Kind').selectOption('admin');
    await audit.getByRole('button', { name: 'Search' }).click();
    const rows = audit.getByTestId('audit-table').locator('tbody tr');
    await expect.poll(() => rows.filter({ hasText: 'policy.update by admin (admin): v1 → v2' }).count()).toBe(1);
    await expect.poll(() => rows.filter({ hasText: 'policy.update.refused' }).count()).toBeGreaterThan(0);
    await audit.close();
  });

  it('the alerts and gateways pages show the denial alert and the connected Envoy with its ACKs', async () => {
    const page = await signedIn('#/alerts');
    const alerts = page.getByTestId('alerts-table');
    await alerts.waitFor();
    expect(await alerts.textContent()).toContain('denials');
    await screenshot(page, 'alerts');
    await page.getByRole('link', { name: 'Gateways' }).click();
    const gws = page.getByTestId('gateways-table');
    await gws.waitFor();
    const row = gws.locator('tr', { hasText: 'egress-gw-1' });
    expect(await row.textContent()).toContain('egress-gateway');
    await expect.poll(() => row.textContent()).toContain('ACK');
    await screenshot(page, 'gateways');
    await page.close();
  });

  it('the live header counts new traffic without reloading the page', async () => {
    const page = await signedIn('#/map');
    const live = page.getByTestId('live');
    await live.waitFor();
    const before = await live.textContent();
    await send(BILLING, 'GET', 'evil.example.com', '/again');
    await server.events.flush();
    await expect.poll(() => live.textContent(), { timeout: 10_000 }).not.toBe(before);
    await page.close();
    expect(problems).toEqual([]);
  });
});
