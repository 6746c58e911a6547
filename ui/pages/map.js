import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getJson, query } from '../lib/api.js';
import { ago, bytes, ms, num, time, VERDICTS } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { buildModel, edgeWidth, hitEdge, layout } from '../lib/map-model.js';
import { html, Status, useLoad, Verdict } from '../lib/ui.js';

const ALL = ['allow', 'deny', 'report_deny'];
const DRAW_ORDER = ['allow', 'report_deny', 'deny'];
const LIST_LIMIT = 100;

function draw(canvas, model, geo, selected) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(geo.w * dpr);
  canvas.height = Math.round(geo.h * dpr);
  canvas.style.height = `${geo.h}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, geo.w, geo.h);
  const many = model.edges.length > 2000;
  const focus = selected && (selected.kind === 'edge' ? (e) => e === selected.edge : (e) => e.left === selected.node || e.right === selected.node);
  for (const e of model.edges) {
    const on = !focus || focus(e);
    // Opaque while few, so colours stay exact; translucent when thousands overlap.
    ctx.globalAlpha = focus ? (on ? 1 : 0.08) : many ? 0.45 : 1;
    const mx = (e.left.x + e.right.x) / 2;
    // One stroke per outcome, each as wide as its own volume, denials on top: a mixed edge shows both,
    // and a few denials inside a busy allowed edge stay visible.
    for (const v of DRAW_ORDER) {
      const n = e[v];
      if (!n || !model.verdicts.has(v)) continue;
      ctx.strokeStyle = VERDICTS[v].colour;
      ctx.lineWidth = edgeWidth({ requests: n }, model.maxRequests) + (selected?.edge === e ? 2 : 0);
      // Report-only is dashed as well as coloured, so the map does not rely on colour alone.
      ctx.setLineDash(v === 'report_deny' ? [6, 4] : []);
      ctx.beginPath();
      ctx.moveTo(e.left.x, e.left.y);
      ctx.bezierCurveTo(mx, e.left.y, mx, e.right.y, e.right.x, e.right.y);
      ctx.stroke();
    }
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const labels = (nodes, step, side) => {
    const showText = step >= 11;
    for (const n of nodes) {
      const hot = selected?.node === n || selected?.edge?.left === n || selected?.edge?.right === n;
      ctx.fillStyle = hot ? '#0550ae' : '#24292f';
      ctx.fillRect(n.x - 3, n.y - Math.min(4, step / 2), 6, Math.max(1, Math.min(8, step - 1)));
      if (!showText && !hot) continue;
      const text = n.label.length > 34 ? `${n.label.slice(0, 33)}…` : n.label;
      ctx.textAlign = side === 'left' ? 'right' : 'left';
      ctx.fillText(text, side === 'left' ? n.x - 8 : n.x + 8, n.y);
    }
  };
  labels(model.left, geo.stepL, 'left');
  labels(model.right, geo.stepR, 'right');
}

function EdgeDetails({ edge }) {
  const single = edge.pairs.length === 1;
  const p = edge.pairs[0];
  const host = p.destination.replace(/:[^:]*$/, '');
  const state = useLoad(() => (single ? getJson(`/v1/inventory/destinations${query({ identity: p.identity, host, limit: 1000, sort: 'count' })}`) : Promise.resolve(null)), [edge.key]);
  const rows = state.data?.items.filter((r) => r.destination === p.destination) ?? [];
  const methods = [...new Set(rows.map((r) => r.method))].sort();
  const status = {};
  for (const r of rows) for (const [k, v] of Object.entries(r.status)) if (v) status[k] = (status[k] ?? 0) + v;
  return html`<section class="card details" aria-labelledby="edge-title" data-testid="edge-details">
    <h2 id="edge-title">${edge.left.label} → ${edge.right.label}</h2>
    <p><${Verdict} verdict=${edge.verdict} /> ${num(edge.requests)} requests: ${num(edge.allow)} allowed, ${num(edge.deny)} denied, ${num(edge.report_deny)} report-only would-deny · ${bytes(edge.bytes)}</p>
    <p>First seen ${time(edge.first_seen)} · last seen ${time(edge.last_seen)} (${ago(edge.last_seen)})</p>
    ${!single && html`<p>${edge.pairs.length} identity → destination pairs in this cluster: ${edge.pairs.slice(0, 12).map((x) => `${x.identity} → ${x.destination}`).join(', ')}${edge.pairs.length > 12 ? '…' : ''}</p>`}
    ${single &&
    html`<${Status} state=${state} />
      ${rows.length > 0 &&
      html`<p>Methods: <strong>${methods.join(', ')}</strong> · Status codes: ${Object.entries(status).map(([k, v]) => `${k} × ${num(v)}`).join(', ') || 'no access log yet'}</p>
        <table>
          <caption>Requests by method and path</caption>
          <thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Requests</th><th scope="col">Verdicts</th><th scope="col">p50</th><th scope="col">p99</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead>
          <tbody>
            ${rows.map((r) => html`<tr><td>${r.method}</td><td><code>${r.path_template}</code></td><td class="n">${num(r.requests)}</td><td>${ALL.filter((v) => r.decisions[v]).map((v) => html`<${Verdict} verdict=${v} /> ${num(r.decisions[v])} `)}</td><td class="n">${ms(r.upstream_latency_ms?.p50)}</td><td class="n">${ms(r.upstream_latency_ms?.p99)}</td><td>${time(r.first_seen)}</td><td>${time(r.last_seen)}</td></tr>`)}
          </tbody>
        </table>`}`}
  </section>`;
}

export function MapPage() {
  const [cluster, setCluster] = useState('auto');
  const [search, setSearch] = useState('');
  const [verdicts, setVerdicts] = useState(new Set(ALL));
  const [minRequests, setMinRequests] = useState(0);
  const [liveOn, setLiveOn] = useState(true);
  const [selected, setSelected] = useState(null);
  const [width, setWidth] = useState(1000);
  const canvasRef = useRef();
  const wrapRef = useRef();
  const state = useLoad(() => getJson('/v1/egress-map?limit=20000'), []);
  useEffect(() => (liveOn ? onTraffic(state.reload, 10_000) : undefined), [liveOn]);
  const graph = state.data;
  const effectiveCluster = cluster === 'auto' ? ((graph?.edges.length ?? 0) > 2000 ? 'domain' : 'none') : cluster;
  const model = useMemo(() => (graph ? buildModel(graph, { cluster: effectiveCluster, search, verdicts, minRequests }) : null), [graph, effectiveCluster, search, verdicts, minRequests]);
  const geo = useMemo(() => (model ? layout(model, width, { targetHeight: 640 }) : null), [model, width]);
  // A new model (live refresh, filter) has new objects: keep the selection by key when it is still there.
  useEffect(() => {
    setSelected((sel) => {
      if (!sel || !model) return null;
      if (sel.kind === 'edge') {
        const edge = model.edges.find((e) => e.key === sel.edge.key);
        return edge ? { kind: 'edge', edge } : null;
      }
      const node = (sel.node.side === 'left' ? model.left : model.right).find((n) => n.key === sel.node.key);
      return node ? { kind: 'node', node } : null;
    });
  }, [model]);
  useEffect(() => {
    const ro = new ResizeObserver(([entry]) => setWidth(Math.max(600, Math.floor(entry.contentRect.width))));
    ro.observe(wrapRef.current);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (!model || !canvasRef.current) return;
    const t0 = performance.now();
    draw(canvasRef.current, model, geo, selected);
    canvasRef.current.dataset.renderMs = (performance.now() - t0).toFixed(1);
    canvasRef.current.dataset.edges = String(model.edges.length);
    if (!performance.getEntriesByName('map:first-render').length) performance.mark('map:first-render');
  }, [model, geo, selected]);
  useEffect(() => {
    if (model && !performance.getEntriesByName('map:interactive').length) requestAnimationFrame(() => performance.mark('map:interactive'));
  }, [model]);

  const hit = (ev) => {
    const r = canvasRef.current.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const col = Math.abs(x - geo.xl) < 10 ? model.left : Math.abs(x - geo.xr) < 10 ? model.right : null;
    if (col) {
      const step = col === model.left ? geo.stepL : geo.stepR;
      const node = col.find((n) => Math.abs(n.y - y) <= Math.max(step / 2, 3));
      if (node) return { kind: 'node', node };
    }
    const edge = hitEdge(model, x, y, 6);
    return edge ? { kind: 'edge', edge } : null;
  };
  const pick = (ev) => setSelected(hit(ev));
  // Hover names what is under the pointer (labels are hidden when rows are dense); one hit test per frame at most.
  const hoverFrame = useRef(0);
  const hover = (ev) => {
    if (hoverFrame.current || !model) return;
    const { clientX, clientY } = ev;
    hoverFrame.current = requestAnimationFrame(() => {
      hoverFrame.current = 0;
      const h = hit({ clientX, clientY });
      canvasRef.current.title = !h ? '' : h.kind === 'node' ? `${h.node.label}: ${h.node.requests} requests` : `${h.edge.left.label} → ${h.edge.right.label}: ${h.edge.requests} requests (${h.edge.allow} allowed, ${h.edge.deny} denied, ${h.edge.report_deny} report-only)`;
      canvasRef.current.style.cursor = h ? 'pointer' : 'default';
    });
  };
  const byVolume = useMemo(() => (model ? [...model.edges].sort((a, b) => b.requests - a.requests) : []), [model]);
  const onKey = (ev) => {
    if (!byVolume.length || !['ArrowDown', 'ArrowUp', 'Escape'].includes(ev.key)) return;
    ev.preventDefault();
    if (ev.key === 'Escape') return setSelected(null);
    const i = selected?.kind === 'edge' ? byVolume.indexOf(selected.edge) : -1;
    const next = ev.key === 'ArrowDown' ? Math.min(i + 1, byVolume.length - 1) : Math.max(i - 1, 0);
    setSelected({ kind: 'edge', edge: byVolume[next] });
  };
  const toggle = (v) => {
    const next = new Set(verdicts);
    if (next.has(v)) next.delete(v);
    else next.add(v);
    setVerdicts(next);
  };
  const list = selected?.kind === 'node' ? byVolume.filter((e) => e.left === selected.node || e.right === selected.node) : byVolume;

  return html`<div class="map-page">
    <form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="Map filters">
      <label>Search <input type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} placeholder="identity or host" /></label>
      <label>Cluster
        <select value=${cluster} onChange=${(e) => setCluster(e.target.value)}>
          <option value="auto">automatic (by domain above 2,000 edges)</option>
          <option value="none">none: every identity and host</option>
          <option value="domain">destinations by registrable domain</option>
          <option value="identity">identities by name prefix</option>
        </select>
      </label>
      <fieldset><legend>Decisions</legend>
        ${ALL.map((v) => html`<label class="check"><input type="checkbox" checked=${verdicts.has(v)} onChange=${() => toggle(v)} /><span class="swatch" style=${`background:${VERDICTS[v].colour}`} aria-hidden="true"></span>${VERDICTS[v].label}</label>`)}
      </fieldset>
      <label>Min. requests <input type="number" min="0" value=${minRequests} onInput=${(e) => setMinRequests(Number(e.target.value) || 0)} class="short" /></label>
      <label class="check"><input type="checkbox" checked=${liveOn} onChange=${(e) => setLiveOn(e.target.checked)} />Live updates</label>
    </form>
    <${Status} state=${state} />
    ${model &&
    html`<p class="summary" data-testid="map-summary">${num(model.left.length)} ${effectiveCluster === 'identity' ? 'identity groups' : 'identities'} → ${num(model.right.length)} ${effectiveCluster === 'domain' ? 'domains' : 'destinations'}, ${num(model.edges.length)} edges shown of ${num(graph.edges.length)} observed${graph.truncated ? ' (busiest pairs only)' : ''}.
        <span class="legend">${ALL.map((v) => html`<span class="legend-item"><span class=${`line line-${v}`} aria-hidden="true"></span>${VERDICTS[v].label}</span>`)} · width = requests; an edge with several outcomes has a stroke for each</span></p>`}
    <div class="canvas-wrap" ref=${wrapRef}>
      <canvas ref=${canvasRef} tabindex="0" role="img" aria-label=${model ? `Egress map: ${model.left.length} identities, ${model.right.length} destinations, ${model.edges.length} edges. The table below lists them.` : 'Egress map'} aria-describedby="map-help" onClick=${pick} onMouseMove=${hover} onKeyDown=${onKey}></canvas>
    </div>
    <p id="map-help" class="muted">Click an edge or a node for details; with the map focused, ↑/↓ step through edges by volume, Esc clears.</p>
    ${selected?.kind === 'edge' && html`<${EdgeDetails} edge=${selected.edge} key=${selected.edge.key} />`}
    ${selected?.kind === 'node' && html`<p class="card">Showing the ${list.length} edges of <strong>${selected.node.label}</strong> (${[...selected.node.members].slice(0, 8).join(', ')}${selected.node.members.size > 8 ? '…' : ''}). <button type="button" class="link" onClick=${() => setSelected(null)}>Show all</button></p>`}
    ${model &&
    html`<table data-testid="edge-table">
      <caption>Edges by volume${list.length > LIST_LIMIT ? ` (busiest ${LIST_LIMIT} of ${num(list.length)})` : ''}</caption>
      <thead><tr><th scope="col">Identity</th><th scope="col">Destination</th><th scope="col">Decisions</th><th scope="col">Requests</th><th scope="col">Allowed</th><th scope="col">Denied</th><th scope="col">Report-only</th><th scope="col">Last seen</th><th scope="col"><span class="sr-only">Details</span></th></tr></thead>
      <tbody>
        ${list.slice(0, LIST_LIMIT).map((e) => html`<tr data-verdict=${e.verdict} aria-selected=${selected?.edge === e ? 'true' : undefined}>
          <td>${e.left.label}</td><td>${e.right.label}</td><td>${ALL.filter((v) => e[v] > 0).map((v) => html`<${Verdict} verdict=${v} /> `)}</td><td class="n">${num(e.requests)}</td><td class="n">${num(e.allow)}</td><td class="n">${num(e.deny)}</td><td class="n">${num(e.report_deny)}</td><td>${ago(e.last_seen)}</td>
          <td><button type="button" class="link" onClick=${() => setSelected({ kind: 'edge', edge: e })} aria-label=${`Details of ${e.left.label} to ${e.right.label}`}>Details</button></td>
        </tr>`)}
      </tbody>
    </table>`}
  </div>`;
}
