import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, AuthError, token } from './lib/api.js';
import { live } from './lib/live.js';
import { num } from './lib/format.js';
import { html } from './lib/ui.js';
import { MapPage } from './pages/map.js';
import { DestinationsPage } from './pages/destinations.js';
import { TokensPage } from './pages/tokens.js';
import { PiiPage } from './pages/pii.js';
import { AlertsPage } from './pages/alerts.js';
import { AuditPage } from './pages/audit.js';
import { PolicyPage } from './pages/policy.js';
import { GatewaysPage } from './pages/gateways.js';

const PAGES = [
  { id: 'map', title: 'Egress map', component: MapPage },
  { id: 'destinations', title: 'Destinations', component: DestinationsPage },
  { id: 'tokens', title: 'Tokens', component: TokensPage },
  { id: 'pii', title: 'PII flows', component: PiiPage },
  { id: 'alerts', title: 'Alerts', component: AlertsPage },
  { id: 'audit', title: 'Audit', component: AuditPage },
  { id: 'policy', title: 'Policy', component: PolicyPage },
  { id: 'gateways', title: 'Gateways', component: GatewaysPage },
];

const route = () => {
  const [id, qs] = location.hash.replace(/^#\/?/, '').split('?');
  return { id: PAGES.some((p) => p.id === id) ? id : 'map', params: new URLSearchParams(qs ?? '') };
};

function Login({ onLogin, message }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    token.set(value.trim());
    try {
      await api('/v1/policy');
      onLogin();
    } catch (err) {
      setError(err instanceof AuthError ? 'That token was refused. Check TOLLGATE_ADMIN_TOKEN and try again.' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login" id="main">
    <form class="card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title">Tollgate</h1>
      <p>Sign in with the admin token (<code>TOLLGATE_ADMIN_TOKEN</code>). It is kept in this tab's session storage only.</p>
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required value=${value} onInput=${(e) => setValue(e.target.value)} autofocus />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function LiveBadge() {
  const [s, setS] = useState();
  useEffect(() => live.subscribe(setS), []);
  if (!s) return html`<span class="live muted">connecting…</span>`;
  const m = s.last_minute;
  return html`<span class="live" aria-live="off" data-testid="live">
    <span class="dot" aria-hidden="true"></span> ${num(m.decisions)}/min · <span class="verdict-text-deny">${num(m.deny)} denied</span> · ${num(m.report_deny)} report-only · ${num(s.totals.findings)} findings since start
  </span>`;
}

function Shell({ onLogout }) {
  const [r, setR] = useState(route());
  useEffect(() => {
    const on = () => setR(route());
    addEventListener('hashchange', on);
    live.start();
    return () => {
      removeEventListener('hashchange', on);
      live.stop();
    };
  }, []);
  const page = PAGES.find((p) => p.id === r.id);
  useEffect(() => {
    document.title = `${page.title} · Tollgate`;
  }, [page]);
  const Page = page.component;
  return html`<a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    <header class="top">
      <span class="brand">Tollgate</span>
      <nav aria-label="Dashboard pages">
        <ul>
          ${PAGES.map((p) => html`<li><a href=${`#/${p.id}`} aria-current=${p.id === r.id ? 'page' : undefined}>${p.title}</a></li>`)}
        </ul>
      </nav>
      <${LiveBadge} />
      <button type="button" class="link" onClick=${onLogout}>Sign out</button>
    </header>
    <main id="main" tabindex="-1" data-page=${page.id}>
      <h1>${page.title}</h1>
      <${Page} params=${r.params} key=${page.id} />
    </main>`;
}

function App() {
  // Unknown until the API says whether it needs a token at all.
  const [authed, setAuthed] = useState();
  const [message, setMessage] = useState();
  useEffect(() => {
    api('/v1/policy').then(
      () => setAuthed(true),
      (err) => {
        setAuthed(false);
        if (!(err instanceof AuthError)) setMessage(err.message);
      },
    );
    return token.onCleared((why) => {
      setMessage(why === 'signed_out' ? 'Signed out.' : 'Your session ended or the token was refused; sign in again.');
      setAuthed(false);
    });
  }, []);
  if (authed === undefined) return html`<p class="boot">Connecting…</p>`;
  if (!authed) return html`<${Login} message=${message} onLogin=${() => setAuthed(true)} />`;
  return html`<${Shell} onLogout=${() => token.clear('signed_out')} />`;
}

render(html`<${App} />`, document.getElementById('app'));
