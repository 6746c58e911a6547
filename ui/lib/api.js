// Admin API client: the bearer token lives in sessionStorage (this tab only), never in a URL or cookie.
const KEY = 'tollgate.adminToken';

export class AuthError extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (body?.problems ? body.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : `HTTP ${status}`));
    this.status = status;
    this.body = body;
  }
}

const listeners = new Set();

export const token = {
  get: () => sessionStorage.getItem(KEY) ?? '',
  set: (t) => sessionStorage.setItem(KEY, t),
  /** `why`: 'refused' (a 401) or 'signed_out'; listeners hear of it only when a token was held. */
  clear: (why = 'refused') => {
    const had = sessionStorage.getItem(KEY) !== null;
    sessionStorage.removeItem(KEY);
    if (had) for (const l of listeners) l(why);
  },
  onCleared: (l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export function headers(extra = {}) {
  const t = token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

/** fetch against the admin API; a 401 forgets the token, which brings the login form back. */
export async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: headers(init.headers ?? {}) });
  if (res.status === 401) {
    token.clear();
    throw new AuthError('the admin token was refused');
  }
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, body);
  return { body, res };
}

export const getJson = async (path) => (await api(path)).body;

export const postJson = async (path, data) => (await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) })).body;

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Every page of a cursor-paginated list, up to `max` items. */
export async function allPages(path, params, max = 5000) {
  const items = [];
  let cursor;
  do {
    const page = await getJson(path + query({ ...params, limit: 1000, cursor }));
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && items.length < max);
  return { items, more: Boolean(cursor) };
}
