import { useState } from 'preact/hooks';
import { api, ApiError, getJson, postJson } from '../lib/api.js';
import { num, time } from '../lib/format.js';
import { html, Status, useLoad, Verdict } from '../lib/ui.js';

function WhatIf() {
  const [form, setForm] = useState({ identity: '', host: '', method: 'GET', path: '/' });
  const [result, setResult] = useState();
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    try {
      setResult(await postJson('/v1/decide', { ...form, identity: form.identity || undefined }));
    } catch (err) {
      setResult({ error: err.message });
    }
  };
  return html`<section class="card" aria-labelledby="whatif-title">
    <h2 id="whatif-title">What if…</h2>
    <form class="toolbar wrap" onSubmit=${submit}>
      <label>Identity <input value=${form.identity} onInput=${set('identity')} placeholder="billing" /></label>
      <label>Host <input required value=${form.host} onInput=${set('host')} placeholder="api.stripe.com" /></label>
      <label>Method <input value=${form.method} onInput=${set('method')} class="short" /></label>
      <label>Path <input value=${form.path} onInput=${set('path')} /></label>
      <button type="submit">Decide</button>
    </form>
    ${result &&
    (result.error
      ? html`<p class="error" role="alert">${result.error}</p>`
      : html`<p role="status" data-testid="whatif-result"><${Verdict} verdict=${result.verdict} /> rule <code>${result.rule}</code> (${result.mode}) · ${result.reason} · policy version ${result.policy_version}</p>`)}
  </section>`;
}

function EdgeList({ title, items, count, testid }) {
  return html`<section data-testid=${testid}>
    <h3>${title}: ${num(count)}</h3>
    ${items.length > 0 &&
    html`<table>
      <thead><tr><th scope="col">Identity</th><th scope="col">Destination</th><th scope="col">Request</th><th scope="col">Observed</th><th scope="col">Now</th><th scope="col">With the change</th></tr></thead>
      <tbody>
        ${items.map((e) => html`<tr>
          <td>${e.identity}</td><td>${e.destination}</td><td><code>${e.method} ${e.path_template}</code></td><td class="n">${num(e.requests)}</td>
          <td><${Verdict} verdict=${e.before.verdict} /> <code>${e.before.rule}</code></td><td><${Verdict} verdict=${e.after.verdict} /> <code>${e.after.rule}</code></td>
        </tr>`)}
      </tbody>
    </table>`}
  </section>`;
}

function Diff({ diff }) {
  if (!diff.changed) return html`<p>No change from the current policy.</p>`;
  // Unchanged lines far from a change are folded so the diff stays readable.
  const near = new Set();
  diff.lines.forEach((l, i) => {
    if (l.op !== '=') for (let k = i - 3; k <= i + 3; k++) near.add(k);
  });
  const out = [];
  let folded = 0;
  diff.lines.forEach((l, i) => {
    if (l.op === '=' && !near.has(i)) return folded++;
    if (folded) out.push(html`<span class="fold">⋯ ${folded} unchanged lines</span>`);
    folded = 0;
    out.push(html`<span class=${`d d${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'eq'}`}><span class="sr-only">${l.op === '+' ? 'added: ' : l.op === '-' ? 'removed: ' : ''}</span>${l.op === '=' ? ' ' : l.op} ${l.line}</span>`);
  });
  if (folded) out.push(html`<span class="fold">⋯ ${folded} unchanged lines</span>`);
  return html`<pre class="diff" data-testid="policy-diff" aria-label="Changes to the policy">${out}</pre>`;
}

function Editor({ current, onSaved }) {
  const [text, setText] = useState(current.policy);
  const [baseEtag] = useState(current.etag);
  const [preview, setPreview] = useState();
  const [message, setMessage] = useState();
  const [busy, setBusy] = useState(false);
  const run = async (fn) => {
    setBusy(true);
    setMessage(undefined);
    try {
      await fn();
    } catch (err) {
      setMessage({ error: true, text: err instanceof ApiError && err.body?.problems ? err.body.problems.map((p) => `${p.path}: ${p.message}`).join('\n') : err.message });
    } finally {
      setBusy(false);
    }
  };
  const previewImpact = () =>
    run(async () => {
      setPreview(undefined);
      setPreview((await api('/v1/policy:impact', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: text })).body);
    });
  const save = () =>
    run(async () => {
      try {
        const { body } = await api('/v1/policy', { method: 'PUT', headers: { 'content-type': 'application/yaml', 'if-match': baseEtag }, body: text });
        onSaved(`Saved as version ${body.version}.`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) throw new Error('Someone changed the policy since you opened the editor (ETag mismatch); nothing was saved. Reload to see the new version and reapply your edit.');
        throw err;
      }
    });
  const p = preview;
  return html`<section class="card" aria-labelledby="editor-title">
    <h2 id="editor-title">Propose a change</h2>
    <label for="policy-text">Proposed policy (YAML); based on version ${current.version}, saved with <code>If-Match: ${baseEtag}</code></label>
    <textarea id="policy-text" spellcheck="false" rows="18" value=${text} onInput=${(e) => (setText(e.target.value), setPreview(undefined))}></textarea>
    <div class="buttons">
      <button type="button" onClick=${previewImpact} disabled=${busy}>Preview diff and impact</button>
      <button type="button" onClick=${save} disabled=${busy || !p?.valid || !p?.diff.changed} title=${p ? '' : 'Preview the change first'}>Save</button>
    </div>
    ${message && html`<p class=${message.error ? 'error' : 'ok'} role=${message.error ? 'alert' : 'status'} style="white-space:pre-wrap">${message.text}</p>`}
    ${p &&
    html`<div data-testid="impact">
      <h3>Diff</h3>
      <${Diff} diff=${p.diff} />
      <p>Evaluated against ${num(p.impact.edges_evaluated)} observed edges (identity, destination, method, path) from the inventory.</p>
      <${EdgeList} testid="start-denying" title="Would start denying" items=${p.impact.start_denying} count=${p.impact.counts.start_denying} />
      <${EdgeList} testid="stop-denying" title="Would stop denying" items=${p.impact.stop_denying} count=${p.impact.counts.stop_denying} />
      <${EdgeList} testid="report-changes" title="Report-only changes (nothing blocked either way)" items=${p.impact.report_changes} count=${p.impact.counts.report_changes} />
    </div>`}
  </section>`;
}

function ReportMode() {
  const state = useLoad(() => getJson('/v1/policy/report-mode'), []);
  const d = state.data;
  return html`<section class="card" aria-labelledby="report-title" data-testid="report-mode">
    <h2 id="report-title">Report mode: what would have been denied</h2>
    <${Status} state=${state} />
    ${d &&
    html`<p>Default mode <strong>${d.default_mode}</strong>. Rules in report mode: ${d.report_rules.length ? d.report_rules.map((r) => html`<code>${r.id}</code> (${r.identity} → ${r.host}) `) : 'none'}.</p>
      ${d.report.length === 0
        ? html`<p>No report-only denials observed.</p>`
        : html`<table>
            <caption>Observed report-only denials, by the rule (or default) that decides them now</caption>
            <thead><tr><th scope="col">Decided by</th><th scope="col">Mode</th><th scope="col">Would have denied</th><th scope="col">Identities</th><th scope="col">Edges</th></tr></thead>
            <tbody>
              ${d.report.map((g) => html`<tr>
                <td><code>${g.rule}</code></td><td>${g.mode}</td><td class="n">${num(g.would_have_denied)}</td><td>${g.identities.join(', ')}</td>
                <td><ul class="plain">${g.edges.slice(0, 10).map((e) => html`<li>${e.identity} → ${e.destination} <code>${e.method} ${e.path_template}</code> × ${num(e.report_deny)}${e.enforced_now ? ' (enforced now)' : ''}</li>`)}</ul></td>
              </tr>`)}
            </tbody>
          </table>`}`}
  </section>`;
}

export function PolicyPage() {
  const state = useLoad(() => getJson('/v1/policy'), []);
  const [notice, setNotice] = useState();
  const v = state.data;
  const saved = (text) => {
    setNotice(text);
    state.reload();
  };
  return html`<${Status} state=${state} />
    ${notice && html`<p class="ok" role="status">${notice}</p>`}
    ${v &&
    html`<p data-testid="policy-version">Version <strong>${v.version}</strong> · ${num(v.rules)} rules · loaded ${time(v.loaded_at)} · ETag <code>${v.etag}</code></p>
      <${WhatIf} />
      <${Editor} current=${v} onSaved=${saved} key=${v.etag} />
      <${ReportMode} key=${`r${v.etag}`} />`}`;
}
