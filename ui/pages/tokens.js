import { useEffect, useState } from 'preact/hooks';
import { getJson, query } from '../lib/api.js';
import { ago, num } from '../lib/format.js';
import { onTraffic } from '../lib/live.js';
import { html, Status, useLoad } from '../lib/ui.js';

// Who issues each token type (display only; the server's issuer table decides foreign destinations).
const ISSUERS = {
  aws_access_key_id: 'AWS', aws_secret_access_key: 'AWS', github_token: 'GitHub', gitlab_token: 'GitLab', slack_token: 'Slack', slack_webhook_url: 'Slack',
  stripe_secret_key: 'Stripe', stripe_test_key: 'Stripe', google_api_key: 'Google', openai_api_key: 'OpenAI', anthropic_api_key: 'Anthropic',
  twilio_api_key: 'Twilio', sendgrid_api_key: 'SendGrid', npm_token: 'npm', jwt: 'JWT issuer', private_key: 'PEM key', basic_auth: '(basic auth)', bearer_token: '(bearer)',
};
const FLAGS = { sprawl: 'used by several identities', foreign_destination: "sent outside its issuer's hosts", outside_header: 'seen in a body or query string' };

export function TokensPage() {
  const [flag, setFlag] = useState('');
  const [cursor, setCursor] = useState();
  const state = useLoad(() => getJson(`/v1/inventory/tokens${query({ flag: flag || undefined, cursor, limit: 100 })}`), [flag, cursor]);
  useEffect(() => onTraffic(state.reload, 10_000), []);
  const items = state.data?.items ?? [];
  return html`<p class="muted">Tokens are identified by a keyed fingerprint; Tollgate never stores or shows a token's value.</p>
    <form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="Token filters">
      <label>Flag
        <select value=${flag} onChange=${(e) => (setFlag(e.target.value), setCursor(undefined))}>
          <option value="">any</option>${Object.entries(FLAGS).map(([k, v]) => html`<option value=${k}>${k}: ${v}</option>`)}
        </select>
      </label>
    </form>
    <${Status} state=${state} />
    ${state.data &&
    html`<table data-testid="tokens-table">
      <caption>${num(state.data.total)} tokens</caption>
      <thead><tr><th scope="col">Fingerprint</th><th scope="col">Type</th><th scope="col">Issuer</th><th scope="col">Used by</th><th scope="col">Sent to</th><th scope="col">Where</th><th scope="col">Flags</th><th scope="col">Seen</th><th scope="col">Last seen</th></tr></thead>
      <tbody>
        ${items.map((t) => html`<tr>
          <td><code class="fp">${t.fingerprint}</code></td>
          <td>${t.type}</td>
          <td>${ISSUERS[t.type] ?? '–'}</td>
          <td>${t.identities.join(', ')}</td>
          <td>${t.destinations.map((d) => html`<span class=${t.foreign_destinations.includes(d) ? 'foreign' : ''}>${d}${t.foreign_destinations.includes(d) ? ' (foreign)' : ''} </span>`)}</td>
          <td>${Object.entries(t.where).filter(([, n]) => n).map(([k, n]) => `${k} × ${n}`).join(', ')}</td>
          <td>${t.flags.map((f) => html`<span class="badge flag" title=${FLAGS[f]}>${f}</span> `)}</td>
          <td class="n">${num(t.count)}</td>
          <td>${ago(t.last_seen)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${state.data.next_cursor && html`<button type="button" onClick=${() => setCursor(state.data.next_cursor)}>Next page</button>`}`}`;
}
