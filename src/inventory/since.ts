const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `24h`, `30m`, `90s`, `2w` (that long before `now`) or an ISO-8601 time → ms since epoch; undefined if neither. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const m = /^([0-9]+)([smhdw])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

export const SINCE_HELP = 'a duration back from now (7d, 24h, 30m, 90s, 2w) or an ISO-8601 time';
