import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from '../lib/api.js';
import { time } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { html, Status, useLoad } from '../lib/ui.js';

export function AlertsPage() {
  const [state_, setState] = useState('');
  const state = useLoad(() => getJson(`/v1/alerts${query({ state: state_ || undefined, limit: 500 })}`), [state_]);
  useEffect(() => onTraffic(state.reload, 10_000), []);
  return html`<form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="Alert filters">
      <label>Delivery
        <select value=${state_} onChange=${(e) => setState(e.target.value)}>
          <option value="">any</option><option value="delivered">delivered</option><option value="pending">pending</option><option value="failed">failed (dead letters)</option>
        </select>
      </label>
    </form>
    <${Status} state=${state} />
    ${state.data &&
    (state.data.alerts.length === 0
      ? html`<p>No alerts${state_ ? ` in state ${state_}` : ''}. Rules are configured under <code>alerts:</code> in the policy.</p>`
      : html`<table data-testid="alerts-table">
          <caption>${state.data.count} alerts, newest first</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Alert</th><th scope="col">Delivery</th><th scope="col">Suppressed repeats</th></tr></thead>
          <tbody>
            ${state.data.alerts.map((a) => html`<tr>
              <td>${time(a.time)}</td><td><span class=${`badge sev-${a.severity}`}>${a.severity}</span></td><td>${a.rule} <span class="muted">(${a.type})</span></td><td>${a.title}</td>
              <td>${a.state}${a.deliveries?.some((d) => d.error) ? html` <span class="muted">${a.deliveries.find((d) => d.error).error}</span>` : ''}</td><td class="n">${a.suppressed}</td>
            </tr>`)}
          </tbody>
        </table>`)}`;
}
