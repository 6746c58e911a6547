/**
 * Egress map with 10,000 identity→destination edges in headless Debian chromium: time to first render and to
 * interactive from navigation, the redraw with every edge unclustered, and an edge click's hit test + redraw.
 * Median and spread over RUNS page loads. Run: npx tsx bench/ui/render.ts [--runs 5] [--edges 10000]
 */
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import type { EgressEvent } from '../../src/events/types.js';
import { startTestServer } from '../../test/support/server.js';
import { writeResult } from '../lib/results.js';
import { round, summarize } from '../lib/stats.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 5);
const EDGES = arg('edges', 10_000);
const TOKEN = 'bench-ui-admin-token-0123456789abcdef';
const IDENTITIES = 100;

const server = await startTestServer('version: 1\negress: []\n', { adminToken: TOKEN });
try {
  // Synthetic traffic straight onto the event bus: EDGES distinct pairs over ~EDGES/5 hosts in ~EDGES/40 registrable domains.
  const now = Date.now();
  const events: EgressEvent[] = [];
  for (let i = 0; i < EDGES; i++) {
    const identity = `svc-${i % IDENTITIES}`;
    const host = `api-${Math.floor(i / IDENTITIES) % Math.ceil(EDGES / 5)}-${i % 7}.vendor-${(i * 7919) % Math.ceil(EDGES / 40)}.com`;
    const verdict = i % 13 === 0 ? 'deny' : i % 17 === 0 ? 'report_deny' : 'allow';
    const n = 1 + (i % 9);
    for (let k = 0; k < n; k++) {
      events.push({ kind: 'decision', time: new Date(now - k * 1000).toISOString(), identity, destination: `${host}:443`, method: 'GET', path_template: '/v1/items/{id}', verdict, mode: 'enforce', rule: 'bench', reason: 'bench', latency_us: 10, policy_version: 1 });
    }
  }
  for (const e of events) server.events.publish(e);
  await server.events.flush();
  const graph = await (await server.admin('/v1/egress-map?limit=20000', { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  if (graph.edges.length !== EDGES) throw new Error(`expected ${EDGES} edges in the map, got ${graph.edges.length}`);

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
  const samples = { firstRender: [] as number[], interactive: [] as number[], unclusteredRedraw: [] as number[], unclusteredFrame: [] as number[], click: [] as number[] };
  let shown = { clustered: 0, unclustered: 0 };
  try {
    for (let run = 0; run < RUNS + 1; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript((t) => sessionStorage.setItem('tollgate.adminToken', t), TOKEN);
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server.adminPort}/ui/#/map`);
      await page.waitForFunction(() => performance.getEntriesByName('map:interactive').length > 0, undefined, { timeout: 60_000 });
      const marks = await page.evaluate(() => ({
        first: performance.getEntriesByName('map:first-render')[0]!.startTime,
        interactive: performance.getEntriesByName('map:interactive')[0]!.startTime,
        edges: Number(document.querySelector('canvas')!.dataset.edges),
      }));
      // Every edge drawn: the heaviest view.
      const t0 = Date.now();
      await page.getByLabel('Cluster').selectOption('none');
      await page.waitForFunction((n) => Number(document.querySelector('canvas')!.dataset.edges) === n, EDGES);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
      const frame = Date.now() - t0;
      const redraw = await page.evaluate(() => Number(document.querySelector('canvas')!.dataset.renderMs));
      // Click the busiest edge's row → its details (hit test not needed) vs a click on the canvas (hit test + redraw).
      const box = (await page.locator('canvas').boundingBox())!;
      const t1 = Date.now();
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
      const click = Date.now() - t1;
      await context.close();
      shown = { clustered: marks.edges, unclustered: EDGES };
      if (run === 0) continue; // warm-up: module compile cache, first chromium start
      samples.firstRender.push(marks.first);
      samples.interactive.push(marks.interactive);
      samples.unclusteredRedraw.push(redraw);
      samples.unclusteredFrame.push(frame);
      samples.click.push(click);
    }
  } finally {
    await browser.close();
  }
  const stat = (xs: number[]) => {
    const s = summarize(xs);
    return { median: round(s.p50, 1), min: round(Math.min(...xs), 1), max: round(Math.max(...xs), 1) };
  };
  const result = {
    edges: EDGES,
    identities: IDENTITIES,
    runs: RUNS,
    edges_drawn: shown,
    first_render_ms: stat(samples.firstRender),
    interactive_ms: stat(samples.interactive),
    unclustered_redraw_ms: stat(samples.unclusteredRedraw),
    unclustered_switch_to_frame_ms: stat(samples.unclusteredFrame),
    canvas_click_to_frame_ms: stat(samples.click),
    load_average: loadavg().map((x) => round(x, 1)),
    note: 'times from navigation start (performance marks in ui/pages/map.js); the default view clusters destinations by registrable domain above 2,000 edges',
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${writeResult('ui-render', result)}`);
} finally {
  await server.stop();
}
