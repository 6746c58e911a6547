import { useState } from 'preact/hooks';
import { getJson, query } from '../lib/api.js';
import { time } from '../lib/format.js';
import { html, Status, useLoad, Verdict } from '../lib/ui.js';

const FIELDS = ['decision_id', 'identity', 'destination', 'verdict', 'kind', 'since', 'until'];

function ChainStatus() {
  const state = useLoad(() => getJson('/v1/audit/status').catch((err) => (err.status === 404 ? null : Promise.reject(err))), []);
  const s = state.data;
  if (!s) return html`<${Status} state=${state} />`;
  const ok = s.problems.length === 0;
  return html`<p class=${ok ? 'ok' : 'error'} data-testid="chain-status" role="status">
    Hash chain: ${ok ? 'intact, no damaged or quarantined segments' : s.problems.join('; ')} · ${s.writing ? 'appends succeed' : 'appends failing'} · last record #${s.last_seq}.
    Full check: <code>tollgate audit verify</code>.</p>`;
}

/** Consecutive records on one page must link: each record's prev_hash is the hash of the one before it. */
function linkCheck(records) {
  let checked = 0;
  for (let i = 0; i + 1 < records.length; i++) {
    const newer = records[i];
    const older = records[i + 1];
    if (newer.seq !== older.seq + 1) continue;
    checked++;
    if (newer.prev_hash !== older.hash) return { ok: false, at: newer.seq, checked };
  }
  return { ok: true, checked };
}

export function AuditPage({ params }) {
  const initial = Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? '']));
  const [form, setForm] = useState(initial);
  const [search, setSearch] = useState({ filters: initial, cursors: [] });
  const cursor = search.cursors[search.cursors.length - 1];
  const state = useLoad(() => getJson(`/v1/audit${query({ ...search.filters, cursor, limit: 50 })}`), [JSON.stringify(search)]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value.trim() });
  const submit = (e) => {
    e.preventDefault();
    setSearch({ filters: form, cursors: [] });
  };
  const records = state.data?.records ?? [];
  const links = linkCheck(records);
  return html`<${ChainStatus} />
    <form class="toolbar wrap" onSubmit=${submit} aria-label="Audit search">
      <label>Decision id <input name="decision_id" value=${form.decision_id} onInput=${set('decision_id')} /></label>
      <label>Identity <input name="identity" value=${form.identity} onInput=${set('identity')} /></label>
      <label>Destination <input name="destination" value=${form.destination} onInput=${set('destination')} placeholder="host:port" /></label>
      <label>Verdict
        <select name="verdict" value=${form.verdict} onChange=${set('verdict')}>
          <option value="">any</option><option value="allow">allowed</option><option value="deny">denied</option><option value="report_deny">report-only would-deny</option>
        </select>
      </label>
      <label>Kind
        <select name="kind" value=${form.kind} onChange=${set('kind')}>
          <option value="">any</option><option value="decision">decision</option><option value="scrub">scrub</option><option value="access">access</option><option value="admin">admin</option>
        </select>
      </label>
      <label>Since <input name="since" value=${form.since} onInput=${set('since')} placeholder="24h or ISO time" class="short" /></label>
      <label>Until <input name="until" value=${form.until} onInput=${set('until')} placeholder="ISO time" class="short" /></label>
      <button type="submit">Search</button>
    </form>
    <${Status} state=${state} />
    ${state.data &&
    html`<table data-testid="audit-table">
        <caption>${records.length} records, newest first${records.length ? ` (#${records[0].seq} to #${records[records.length - 1].seq})` : ''}${links.checked ? (links.ok ? ` · ${links.checked} consecutive links checked` : ` · chain broken at #${links.at}`) : ''}</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Decision id</th><th scope="col">Identity</th><th scope="col">Destination</th><th scope="col">Request</th><th scope="col">Outcome</th><th scope="col">Hash</th></tr></thead>
        <tbody>
          ${records.map((r) => html`<tr data-decision-id=${r.decision_id}>
            <td class="n">${r.seq}</td><td>${time(r.time)}</td><td>${r.kind}</td><td><code>${r.decision_id ?? '–'}</code></td><td>${r.identity}</td><td>${r.destination}</td>
            <td><code>${r.method} ${r.path_template}</code></td>
            <td>${r.kind === 'decision' ? html`<${Verdict} verdict=${r.verdict} /> <code>${r.rule}</code> <span class="muted">${r.reason}</span>` : r.kind === 'scrub' ? `${r.outcome}: ${(r.findings ?? []).map((f) => `${f.type} (${f.action})`).join(', ') || 'no findings'}` : r.kind === 'admin' ? `${r.action} by ${r.who} (${r.role})${r.to_version ? `: v${r.from_version} → v${r.to_version}` : ''}${r.reason ? ` (${r.reason})` : ''}` : `HTTP ${r.status}`}</td>
            <td><code title=${r.hash}>${r.hash?.slice(0, 10)}…</code></td>
          </tr>`)}
        </tbody>
      </table>
      <nav class="pager" aria-label="Audit pages">
        <button type="button" disabled=${search.cursors.length === 0} onClick=${() => setSearch({ ...search, cursors: search.cursors.slice(0, -1) })}>Newer</button>
        <button type="button" disabled=${!state.data.next_cursor} onClick=${() => setSearch({ ...search, cursors: [...search.cursors, state.data.next_cursor] })}>Older</button>
      </nav>`}`;
}
