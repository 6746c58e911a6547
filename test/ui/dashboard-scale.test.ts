import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { EgressEvent } from '../../src/events/types.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { chromiumAvailable, launch, screenshot, watchPage } from './browser.js';

const TOKEN = 'ui-scale-test-admin-token-0123456789';
const EDGES = 10_000;
const run = chromiumAvailable() ? describe : describe.skip;

let server: TestServer;
let browser: Browser;

async function open(hash: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript((t) => sessionStorage.setItem('tollgate.adminToken', t), TOKEN);
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`http://127.0.0.1:${server.adminPort}/ui/${hash}`);
  return { page, problems };
}

run('dashboard at scale and by keyboard', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await startTestServer('version: 1\negress: []\n', { adminToken: TOKEN });
    // 10,000 identity→destination pairs straight onto the event bus: 100 identities, 250 registrable domains.
    const time = new Date().toISOString();
    for (let i = 0; i < EDGES; i++) {
      const e: EgressEvent = { kind: 'decision', time, identity: `svc-${i % 100}`, destination: `api-${i}.vendor-${(i * 7919) % 250}.com:443`, method: 'GET', path_template: '/v1/x', verdict: i % 13 === 0 ? 'deny' : 'allow', mode: 'enforce', rule: 'r', reason: 'r', latency_us: 1, policy_version: 1 };
      server.events.publish(e);
    }
    await server.events.flush();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('with 10,000 edges the map clusters destinations by registrable domain, and search finds one host', async () => {
    const { page, problems } = await open('#/map');
    const summary = page.getByTestId('map-summary');
    await summary.waitFor({ timeout: 20_000 });
    expect(await summary.textContent()).toMatch(/100 identities → 250 domains, [\d,]+ edges shown of 10,000 observed/);
    await screenshot(page, 'map-10k');
    await page.getByLabel('Search').fill('api-4242.');
    await expect.poll(() => summary.textContent()).toContain('1 edges shown');
    await page.getByLabel('Cluster').selectOption('none');
    await expect.poll(() => page.getByTestId('edge-table').locator('tbody tr').first().textContent()).toContain('api-4242.vendor-');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('the map is usable from the keyboard: focus it, step to the busiest edge, read its details, Esc clears', async () => {
    const { page } = await open('#/map');
    await page.getByTestId('map-summary').waitFor({ timeout: 20_000 });
    await page.getByLabel('Search').fill('svc-7');
    await page.locator('canvas').focus();
    await page.keyboard.press('ArrowDown');
    const details = page.getByTestId('edge-details');
    await details.waitFor();
    expect(await details.getByRole('heading').textContent()).toContain('svc-7');
    await page.keyboard.press('Escape');
    await expect.poll(() => details.count()).toBe(0);
    await page.context().close();
  });

  it('under steady traffic the map follows one event stream and refetches at most once per 10 s, not per event', async () => {
    const { page, problems } = await open('#/map');
    await page.getByTestId('map-summary').waitFor({ timeout: 20_000 });
    const fetched: string[] = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    const live = page.getByTestId('live');
    const before = await live.textContent();
    // 50 decisions every 100 ms for 5 s: 2,500 events.
    for (let tick = 0; tick < 50; tick++) {
      const time = new Date().toISOString();
      for (let k = 0; k < 50; k++) server.events.publish({ kind: 'decision', time, identity: `svc-${k}`, destination: `burst-${k}.example.net:443`, method: 'GET', path_template: '/', verdict: 'allow', mode: 'enforce', rule: 'r', reason: 'r', latency_us: 1, policy_version: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect.poll(() => live.textContent(), { timeout: 10_000 }).not.toBe(before);
    expect(fetched.filter((p) => p === '/v1/egress-map').length).toBeLessThanOrEqual(1);
    expect(fetched.filter((p) => p === '/v1/events/stream')).toEqual([]);
    // Still answering input: the search narrows the map at once.
    await page.getByLabel('Search').fill('svc-42');
    await expect.poll(() => page.getByTestId('map-summary').textContent()).toMatch(/^1 identities/);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('every form control on every page has a label, and every page has one main heading', async () => {
    const { page } = await open('#/map');
    await page.getByTestId('map-summary').waitFor({ timeout: 20_000 });
    for (const id of ['map', 'destinations', 'tokens', 'pii', 'alerts', 'audit', 'policy', 'gateways']) {
      await page.evaluate((h) => (location.hash = h), `#/${id}`);
      await page.locator(`main[data-page="${id}"]`).waitFor();
      await expect.poll(() => page.getByText('Loading…').count()).toBe(0);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unlabelled, id).toEqual([]);
      expect(await page.locator('h1').count(), id).toBe(1);
    }
    await page.context().close();
  });
});
