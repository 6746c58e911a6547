import { useEffect } from 'preact/hooks';
import { getJson } from '../lib/api.js';
import { time } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { html, Status, useLoad } from '../lib/ui.js';

const short = (url) => url.replace('type.googleapis.com/envoy.config.', '').replace('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.', 'tls.');

export function GatewaysPage() {
  const state = useLoad(() => getJson('/v1/xds/nodes'), []);
  useEffect(() => onTraffic(state.reload, 15_000), []);
  useEffect(() => {
    const t = setInterval(state.reload, 15_000);
    return () => clearInterval(t);
  }, []);
  const d = state.data;
  return html`<${Status} state=${state} />
    ${d &&
    html`<p>Snapshot version <strong data-testid="snapshot-version">${d.snapshot_version ?? 'none'}</strong>${d.note ? html` · ${d.note}` : ''}</p>
      ${d.refused_snapshot && html`<p class="error" role="alert">Snapshot ${d.refused_snapshot.version} refused at ${time(d.refused_snapshot.at)}: ${d.refused_snapshot.reasons.join('; ')}</p>`}
      ${d.nodes.length === 0
        ? html`<p>No Envoy is connected over ADS.</p>`
        : html`<table data-testid="gateways-table">
            <caption>${d.nodes.length} connected Envoys</caption>
            <thead><tr><th scope="col">Node</th><th scope="col">Cluster</th><th scope="col">Protocol</th><th scope="col">Connected</th><th scope="col">Per type: sent / ACKed</th><th scope="col">Last error</th></tr></thead>
            <tbody>
              ${d.nodes.map((n) => {
                const nacked = (n.types ?? []).filter((t) => t.state === 'nacked' || t.lastNack);
                return html`<tr>
                  <th scope="row">${n.nodeId}${n.replica ? html` <span class="muted">via ${n.replica}</span>` : ''}</th>
                  <td>${n.cluster}</td><td>${n.kind}${n.userAgent?.name ? html` <span class="muted">${n.userAgent.name} ${n.userAgent.version}</span>` : ''}</td><td>${time(n.connectedSince)}</td>
                  <td><ul class="plain">${(n.types ?? []).map((t) => html`<li><code>${short(t.typeUrl)}</code>: ${t.lastSentVersion ?? '–'} / ${t.lastAckedVersion ?? '–'} <span class=${`badge state-${t.state}`}>${t.state === 'nacked' ? 'NACK' : t.state === 'acked' ? 'ACK' : t.state}</span></li>`)}</ul></td>
                  <td>${nacked.length ? nacked.map((t) => html`<p class="error">${short(t.typeUrl)}: ${t.lastNack?.message ?? 'NACK'} <span class="muted">${time(t.lastNack?.at)}</span></p>`) : 'none'}</td>
                </tr>`;
              })}
            </tbody>
          </table>`}`}`;
}
