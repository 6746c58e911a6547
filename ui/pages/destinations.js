import { useEffect, useMemo, useState } from 'preact/hooks';
import { allPages, getJson, postJson, query } from '../lib/api.js';
import { ago, num } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { html, SortHeader, sortBy, Sparkline, Status, useLoad, Verdict } from '../lib/ui.js';

const PAGE = 50;

function aggregate(items) {
  const by = new Map();
  for (const e of items) {
    let d = by.get(e.destination);
    if (!d) by.set(e.destination, (d = { destination: e.destination, identities: new Set(), requests: 0, allow: 0, deny: 0, report_deny: 0, last_seen: e.last_seen, sample: e }));
    d.identities.add(e.identity);
    d.requests += e.requests;
    d.allow += e.decisions.allow;
    d.deny += e.decisions.deny;
    d.report_deny += e.decisions.report_deny;
    if (e.last_seen > d.last_seen) d.last_seen = e.last_seen;
    // The busiest allowed request stands for the destination when asking which rule allows it.
    if (e.decisions.allow > d.sample.decisions.allow) d.sample = e;
  }
  return [...by.values()].map((d) => ({ ...d, callers: d.identities.size }));
}

function RuleCell({ row }) {
  const s = row.sample;
  const state = useLoad(() => postJson('/v1/decide', { identity: s.identity, host: row.destination.replace(/:default$/, ''), method: s.method, path: s.path_template }), [row.destination]);
  if (state.error) return html`<span class="error">${state.error.message}</span>`;
  if (!state.data) return html`<span class="muted">…</span>`;
  const d = state.data;
  if (d.verdict === 'allow') return html`<span data-rule=${d.rule}>rule <code>${d.rule}</code></span>`;
  return html`<span data-rule=${d.rule} title=${d.reason}>no rule allows it (<code>${d.rule}</code>${d.verdict === 'report_deny' ? ', report-only' : ''})</span>`;
}

export function DestinationsPage() {
  const [host, setHost] = useState('');
  const [identity, setIdentity] = useState('');
  const [verdict, setVerdict] = useState('');
  const [sort, setSort] = useState({ key: 'requests', dir: 'desc' });
  const [page, setPage] = useState(0);
  const state = useLoad(() => allPages('/v1/inventory/destinations', { sort: 'count', identity: identity || undefined }), [identity]);
  useEffect(() => onTraffic(state.reload, 10_000), []);
  const rows = useMemo(() => {
    if (!state.data) return [];
    let r = aggregate(state.data.items);
    if (host) r = r.filter((d) => d.destination.includes(host.toLowerCase()));
    if (verdict) r = r.filter((d) => d[verdict] > 0);
    return sortBy(r, sort);
  }, [state.data, host, verdict, sort]);
  const shown = rows.slice(page * PAGE, (page + 1) * PAGE);
  const spark = useLoad(() => (shown.length ? getJson(`/v1/inventory/activity${query({ destinations: shown.map((d) => d.destination).join(',') })}`) : Promise.resolve(null)), [shown.map((d) => d.destination).join(',')]);
  return html`<form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="Destination filters">
      <label>Host contains <input type="search" value=${host} onInput=${(e) => (setHost(e.target.value), setPage(0))} /></label>
      <label>Identity <input type="search" value=${identity} onChange=${(e) => (setIdentity(e.target.value.trim()), setPage(0))} placeholder="exact name" /></label>
      <label>Decisions
        <select value=${verdict} onChange=${(e) => (setVerdict(e.target.value), setPage(0))}>
          <option value="">any</option><option value="deny">with denials</option><option value="report_deny">with report-only denials</option><option value="allow">with allowed requests</option>
        </select>
      </label>
    </form>
    <${Status} state=${state} />
    ${state.data &&
    html`<table data-testid="destinations-table">
        <caption>${num(rows.length)} destinations${state.data.more ? ' (first 5,000 edges)' : ''}; requests per minute over the last 30 minutes</caption>
        <thead><tr>
          <${SortHeader} id="destination" label="Destination" sort=${sort} setSort=${setSort} />
          <${SortHeader} id="requests" label="Requests" sort=${sort} setSort=${setSort} />
          <${SortHeader} id="deny" label="Denied" sort=${sort} setSort=${setSort} />
          <${SortHeader} id="report_deny" label="Report-only" sort=${sort} setSort=${setSort} />
          <th scope="col">Activity</th>
          <${SortHeader} id="callers" label="Called by" sort=${sort} setSort=${setSort} />
          <th scope="col">Policy</th>
          <${SortHeader} id="last_seen" label="Last seen" sort=${sort} setSort=${setSort} />
        </tr></thead>
        <tbody>
          ${shown.map((d) => html`<tr data-destination=${d.destination}>
            <th scope="row">${d.destination}</th>
            <td class="n">${num(d.requests)}</td>
            <td class="n">${d.deny ? html`<${Verdict} verdict="deny" /> ${num(d.deny)}` : '0'}</td>
            <td class="n">${d.report_deny ? html`<${Verdict} verdict="report_deny" /> ${num(d.report_deny)}` : '0'}</td>
            <td><${Sparkline} values=${spark.data?.series[d.destination]} label=${`Requests to ${d.destination}`} /></td>
            <td>${[...d.identities].slice(0, 5).join(', ')}${d.identities.size > 5 ? ` +${d.identities.size - 5}` : ''}</td>
            <td><${RuleCell} row=${d} key=${d.destination} /></td>
            <td>${ago(d.last_seen)}</td>
          </tr>`)}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled=${page === 0} onClick=${() => setPage(page - 1)}>Previous</button>
        <span>Page ${page + 1} of ${Math.max(1, Math.ceil(rows.length / PAGE))}</span>
        <button type="button" disabled=${(page + 1) * PAGE >= rows.length} onClick=${() => setPage(page + 1)}>Next</button>
      </nav>`}`;
}
