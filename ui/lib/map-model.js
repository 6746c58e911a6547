// Pure model of the egress map: filter, cluster and lay out the inventory graph. No DOM, so the
// benchmark and the page share it.

/** First word of an identity name (`billing` for `billing-web` or `billing/api`): the identity cluster. */
export const identityGroup = (name) => name.split(/[-_./:]/)[0] || name;

const verdictOf = (e) => (e.deny > 0 ? 'deny' : e.report_deny > 0 ? 'report_deny' : 'allow');

/**
 * graph: GET /v1/egress-map. opts: { cluster: 'none' | 'domain' | 'identity', search, verdicts: Set, minRequests }.
 * Returns { left, right, edges } with nodes ordered for few crossings and edges aggregated per cluster pair.
 */
export function buildModel(graph, opts = {}) {
  const cluster = opts.cluster ?? 'none';
  const search = (opts.search ?? '').trim().toLowerCase();
  const verdicts = opts.verdicts ?? new Set(['allow', 'deny', 'report_deny']);
  const minRequests = opts.minRequests ?? 0;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const left = new Map();
  const right = new Map();
  const merged = new Map();
  for (const e of graph.edges) {
    if (e.requests < minRequests) continue;
    // Shown when any outcome it had is selected: hiding "allowed" keeps the edges that also saw denials.
    if (!(['allow', 'deny', 'report_deny'].some((v) => verdicts.has(v) && e[v] > 0))) continue;
    const s = byId.get(e.source);
    const t = byId.get(e.target);
    const sl = s?.label ?? e.source;
    const tl = t?.label ?? e.target;
    if (search && !sl.toLowerCase().includes(search) && !tl.toLowerCase().includes(search) && !(t?.domain ?? '').includes(search)) continue;
    const lk = cluster === 'identity' ? identityGroup(sl) : sl;
    const rk = cluster === 'domain' ? (t?.domain ?? tl) : tl;
    const ln = left.get(lk) ?? left.set(lk, { key: lk, label: cluster === 'identity' ? `${lk}*` : lk, side: 'left', requests: 0, members: new Set() }).get(lk);
    const rn = right.get(rk) ?? right.set(rk, { key: rk, label: cluster === 'domain' && rk !== tl ? `*.${rk}` : rk, side: 'right', requests: 0, members: new Set() }).get(rk);
    ln.requests += e.requests;
    rn.requests += e.requests;
    ln.members.add(sl);
    rn.members.add(tl);
    const key = `${lk}\u0000${rk}`;
    let m = merged.get(key);
    if (!m) {
      m = { key, left: ln, right: rn, requests: 0, allow: 0, deny: 0, report_deny: 0, bytes: 0, first_seen: e.first_seen, last_seen: e.last_seen, pairs: [] };
      merged.set(key, m);
    }
    m.requests += e.requests;
    m.allow += e.allow;
    m.deny += e.deny;
    m.report_deny += e.report_deny;
    m.bytes += e.bytes;
    if (e.first_seen < m.first_seen) m.first_seen = e.first_seen;
    if (e.last_seen > m.last_seen) m.last_seen = e.last_seen;
    m.pairs.push({ identity: sl, destination: tl });
  }
  const leftNodes = [...left.values()].sort((a, b) => b.requests - a.requests || (a.key < b.key ? -1 : 1));
  leftNodes.forEach((n, i) => (n.index = i));
  // Destinations sit at the request-weighted mean row of their callers (barycentre): fewer crossings.
  const centre = new Map();
  for (const m of merged.values()) {
    const c = centre.get(m.right) ?? { w: 0, s: 0 };
    c.w += m.requests || 1;
    c.s += (m.requests || 1) * m.left.index;
    centre.set(m.right, c);
  }
  const rightNodes = [...right.values()].sort((a, b) => {
    const ca = centre.get(a);
    const cb = centre.get(b);
    return ca.s / ca.w - cb.s / cb.w || b.requests - a.requests;
  });
  rightNodes.forEach((n, i) => (n.index = i));
  const edges = [...merged.values()];
  for (const m of edges) m.verdict = verdictOf(m);
  // Busiest last, so they are drawn on top.
  edges.sort((a, b) => a.requests - b.requests);
  return { left: leftNodes, right: rightNodes, edges, verdicts, maxRequests: edges.reduce((x, e) => Math.max(x, e.requests), 1) };
}

/** Pixel positions for a canvas of width w: one row per node, the taller column sets the height. */
export function layout(model, w, opts = {}) {
  const rows = Math.max(model.left.length, model.right.length, 1);
  const pad = 24;
  // Rows shrink below a pixel past maxHeight: the canvas stays a bounded size (memory, draw time) at any edge count.
  const rowH = Math.min(28, Math.max((opts.targetHeight ?? 640) / rows, 2));
  const h = Math.ceil(Math.min(rows * rowH, opts.maxHeight ?? 2400) + pad * 2);
  const colW = Math.min(260, Math.max(120, w * 0.24));
  const xl = colW;
  const xr = w - colW;
  const place = (nodes, x) => {
    const step = (h - pad * 2) / Math.max(nodes.length, 1);
    nodes.forEach((n, i) => {
      n.x = x;
      n.y = pad + step * (i + 0.5);
    });
    return step;
  };
  const stepL = place(model.left, xl);
  const stepR = place(model.right, xr);
  return { w, h, xl, xr, colW, stepL, stepR };
}

export const edgeWidth = (e, max) => 0.75 + 5.25 * (Math.log1p(e.requests) / Math.log1p(max));

/** Nearest edge to (x, y) within `tolerance` px, sampling each curve; null when none is close. */
export function hitEdge(model, x, y, tolerance = 5) {
  let best = null;
  let bestD = Infinity;
  for (const e of model.edges) {
    const x1 = e.left.x;
    const y1 = e.left.y;
    const x2 = e.right.x;
    const y2 = e.right.y;
    if (x < x1 - 2 || x > x2 + 2 || y < Math.min(y1, y2) - tolerance - 4 || y > Math.max(y1, y2) + tolerance + 4) continue;
    const mx = (x1 + x2) / 2;
    for (let k = 0; k <= 24; k++) {
      const t = k / 24;
      const u = 1 - t;
      // Cubic Bézier with control points (mx, y1) and (mx, y2), as drawn.
      const px = u * u * u * x1 + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * x2;
      const py = u * u * u * y1 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y2;
      const d = Math.hypot(px - x, py - y);
      if (d < bestD) {
        bestD = d;
        best = e;
      }
    }
  }
  return bestD <= tolerance ? best : null;
}
