const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 2 ** 10, m: 1e6, mb: 1e6, mib: 2 ** 20, g: 1e9, gb: 1e9, gib: 2 ** 30, t: 1e12, tb: 1e12, tib: 2 ** 40 };

/** `10GiB`, `500MB`, `1.5 TiB`, `1048576` → bytes; `0`, `off` or `none` → no limit (Infinity); undefined when unreadable. */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? (text === 0 ? Number.POSITIVE_INFINITY : Math.floor(text)) : undefined;
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none') return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  const unit = m ? UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return n === 0 ? Number.POSITIVE_INFINITY : n;
}
