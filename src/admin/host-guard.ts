import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface HostGuardOptions {
  /** Host the admin API is bound to (`127.0.0.1`, `::1`, `0.0.0.0`, a name). */
  bindHost: string;
  /** Extra names clients may use in `Host` (`adminAllowedHosts`), e.g. `tollgate-admin.internal`. */
  allowedHosts: readonly string[];
  /** Whether an admin token is configured (then only a token, never a browser's ambient access, changes state). */
  hasToken: boolean;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz']);
const STATE_CHANGING = new Set(['PUT', 'POST', 'DELETE', 'PATCH']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/**
 * DNS-rebinding and cross-site guard for the admin API. A web page can point its own name at 127.0.0.1,
 * but its requests then carry that name in `Host` and its own origin in `Origin`:
 * - `Host` must be an IP literal, `localhost`, the bind host or a configured name (421 otherwise). With a
 *   wildcard bind and no configured names every `Host` passes, and the token (mandatory there) protects.
 * - PUT/POST/DELETE with an `Origin` must come from the same origin or a configured name (403 otherwise).
 * - Without a token, PUT/POST/DELETE that a browser sends (an `Origin`, or `Sec-Fetch-Site` other than
 *   same-origin/none) are refused: a browser's ambient access to loopback is not consent.
 */
export function guardHostAndOrigin(app: FastifyInstance, opts: HostGuardOptions): void {
  const configured = new Set(opts.allowedHosts.map(normalise));
  const names = new Set([...configured, 'localhost', normalise(opts.bindHost)]);
  const anyName = WILDCARD_BINDS.has(opts.bindHost) && configured.size === 0;
  const hostAllowed = (hostname: string) => isIP(hostname) !== 0 || anyName || names.has(hostname);

  app.addHook('onRequest', async (req, reply) => {
    if (OPEN_PATHS.has(req.url.split('?')[0] ?? '')) return;
    const host = req.headers.host;
    const hostname = host === undefined ? undefined : hostnameOf(host);
    if (host !== undefined && (hostname === undefined || !hostAllowed(hostname))) {
      return reply.code(421).send({
        error: 'misdirected_request',
        message: `Host "${truncate(host)}" is not a name of this admin API; use an IP address, localhost${configured.size > 0 ? `, ${[...configured].join(', ')}` : ''}, or add the name to TOLLGATE_ADMIN_ALLOWED_HOSTS`,
      });
    }
    if (!STATE_CHANGING.has(req.method)) return;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const from = originHost(origin);
      const sameOrigin = from !== undefined && host !== undefined && from.host === host.toLowerCase();
      if (!sameOrigin && !(from !== undefined && configured.has(from.hostname))) {
        return reply.code(403).send({ error: 'forbidden_origin', message: `${req.method} from origin "${truncate(origin)}" is refused: only the admin API's own origin or a name in TOLLGATE_ADMIN_ALLOWED_HOSTS may change state` });
      }
    }
    const site = req.headers['sec-fetch-site'];
    const fromBrowser = origin !== undefined || (typeof site === 'string' && site !== 'same-origin' && site !== 'none');
    if (!opts.hasToken && fromBrowser) {
      return reply.code(403).send({ error: 'browser_request_refused', message: `${req.method} from a web browser is refused without an admin token: set TOLLGATE_ADMIN_TOKEN and send it as a bearer token` });
    }
  });
}

function normalise(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** `name:port`, `[v6]:port` or a bare name → the lower-case name; undefined when malformed. */
function hostnameOf(host: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host.trim());
  return m ? normalise(m[1]!) : undefined;
}

function originHost(origin: string): { host: string; hostname: string } | undefined {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? { host: u.host.toLowerCase(), hostname: normalise(u.hostname) } : undefined;
  } catch {
    return undefined;
  }
}

function truncate(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}
