const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a point in time given as a duration back from `now` (`90s`, `30m`, `24h`, `7d`, `2w`) or as an ISO-8601
 * date/time (`2026-11-25`, `2026-11-25T18:00:00Z`). Returns epoch ms, or undefined when it is neither.
 */
export function parseTimeSpec(text: string, now = Date.now()): number | undefined {
  const rel = /^(\d+)([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}
