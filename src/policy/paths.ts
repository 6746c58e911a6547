/** A compiled path pattern: `*` matches within one segment, `**` across segments, no wildcard = exact. */
export type PathMatcher = (path: string) => boolean;

export function compilePathPattern(pattern: string): PathMatcher {
  if (!pattern.includes('*')) return (path) => path === pattern;
  if (pattern.endsWith('/**') && !pattern.slice(0, -3).includes('*')) {
    const base = pattern.slice(0, -3);
    return (path) => path === base || path.startsWith(`${base}/`);
  }
  if (pattern.endsWith('**') && !pattern.slice(0, -2).includes('*')) {
    const prefix = pattern.slice(0, -2);
    return (path) => path.startsWith(prefix);
  }
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        i++;
      } else source += '[^/]*';
    } else source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`${source}$`);
  return (path) => re.test(path);
}

/**
 * The path a policy compares: query and fragment dropped, dot segments resolved (also when
 * percent-encoded), so `/v1/charges/../admin` cannot pass as `/v1/charges/**`.
 */
export function normalizeRequestPath(raw: string): string {
  let end = raw.length;
  const q = raw.indexOf('?');
  if (q !== -1) end = q;
  const h = raw.indexOf('#');
  if (h !== -1 && h < end) end = h;
  let path = raw.slice(0, end);
  if (path === '' || path[0] !== '/') path = `/${path}`;
  if (!path.includes('.') && !path.includes('//') && !path.includes('%')) return path;
  try {
    return new URL(path.replace(/\/{2,}/g, '/'), 'http://h').pathname;
  } catch {
    return path;
  }
}
