import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from '../lib/api.js';
import { ago, num } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { html, Status, useLoad } from '../lib/ui.js';

const ACTIONS = { redact: 'redacted', mask: 'masked', hash: 'hashed', block: 'blocked', allow: 'recorded', observe: 'observed' };

export function PiiPage() {
  const [type, setType] = useState('');
  const [identity, setIdentity] = useState('');
  const [cursor, setCursor] = useState();
  const state = useLoad(() => getJson(`/v1/inventory/pii${query({ type: type || undefined, identity: identity || undefined, cursor, sort: 'count', limit: 200 })}`), [type, identity, cursor]);
  useEffect(() => onTraffic(state.reload, 10_000), []);
  return html`<form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="PII filters">
      <label>Type
        <select value=${type} onChange=${(e) => (setType(e.target.value), setCursor(undefined))}>
          <option value="">any</option>${['email', 'phone', 'credit_card', 'us_ssn', 'iban', 'ipv4', 'ipv6', 'date_of_birth'].map((t) => html`<option>${t}</option>`)}
        </select>
      </label>
      <label>Identity <input type="search" value=${identity} onChange=${(e) => (setIdentity(e.target.value.trim()), setCursor(undefined))} placeholder="exact name" /></label>
    </form>
    <${Status} state=${state} />
    ${state.data &&
    html`<table data-testid="pii-table">
      <caption>${num(state.data.total)} flows: identity → destination → PII type</caption>
      <thead><tr><th scope="col">Identity</th><th scope="col">Destination</th><th scope="col">PII type</th><th scope="col">Findings</th><th scope="col">Actions taken</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead>
      <tbody>
        ${state.data.items.map((p) => html`<tr>
          <td>${p.identity}</td><td>${p.destination}</td><td>${p.type}</td><td class="n">${num(p.count)}</td>
          <td>${Object.entries(p.actions).filter(([, n]) => n).map(([a, n]) => html`<span class=${`badge action-${a}`}>${ACTIONS[a] ?? a} × ${num(n)}</span> `)}</td>
          <td>${ago(p.first_seen)}</td><td>${ago(p.last_seen)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${state.data.next_cursor && html`<button type="button" onClick=${() => setCursor(state.data.next_cursor)}>Next page</button>`}`}`;
}
