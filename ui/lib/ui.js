import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { VERDICTS } from './format.js';

export const html = htm.bind(h);

/** Loads data, re-runs when `deps` change; errors become a visible message, never a blank page. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Verdict({ verdict }) {
  const v = VERDICTS[verdict] ?? { label: verdict, colour: '#57606a' };
  return html`<span class=${`badge verdict-${verdict}`} data-verdict=${verdict}><span class="swatch" style=${`background:${v.colour}`} aria-hidden="true"></span>${v.label}</span>`;
}

export function Status({ state }) {
  if (state.error) return html`<p class="error" role="alert">${state.error.message}</p>`;
  if (state.loading && !state.data) return html`<p class="muted" aria-live="polite">Loading…</p>`;
  return null;
}

/** Requests per minute as a tiny inline SVG; the numbers are in its accessible label. */
export function Sparkline({ values, label }) {
  if (!values) return html`<span class="muted">–</span>`;
  const max = Math.max(1, ...values);
  const w = 90;
  const hgt = 20;
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(hgt - (v / max) * (hgt - 2) - 1).toFixed(1)}`).join(' ');
  const total = values.reduce((a, b) => a + b, 0);
  return html`<svg class="spark" width=${w} height=${hgt} viewBox=${`0 0 ${w} ${hgt}`} role="img" aria-label=${`${label}: ${total} requests in the last ${values.length} minutes`}><polyline points=${pts} fill="none" stroke="currentColor" stroke-width="1.5" /></svg>`;
}

/** A sortable table header cell: a button, so the keyboard can sort too. */
export function SortHeader({ id, label, sort, setSort }) {
  const active = sort.key === id;
  const dir = active ? sort.dir : 'none';
  return html`<th aria-sort=${dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none'}>
    <button class="sort" type="button" onClick=${() => setSort({ key: id, dir: active && sort.dir === 'desc' ? 'asc' : 'desc' })}>${label}${active ? (sort.dir === 'desc' ? ' ▼' : ' ▲') : ''}</button>
  </th>`;
}

export function sortBy(rows, sort) {
  const k = sort.key;
  const m = sort.dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => (a[k] < b[k] ? -m : a[k] > b[k] ? m : 0));
}
