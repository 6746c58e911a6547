import type { AuditQuery, AuditRecord } from './audit-store.js';

export type AuditPredicate = (r: AuditRecord) => boolean;

/** Compiles the query's filters once into one predicate (AND of the given filters); any store can evaluate it per record. */
export function compileAuditFilter(q: AuditQuery): AuditPredicate {
  const checks: AuditPredicate[] = [];
  const { since, until } = q;
  if (since !== undefined) checks.push((r) => Date.parse(r.time) >= since);
  if (until !== undefined) checks.push((r) => Date.parse(r.time) < until);
  if (q.kind !== undefined) checks.push((r) => r.kind === q.kind);
  if (q.identity !== undefined) checks.push((r) => r.identity === q.identity);
  if (q.decision_id !== undefined) checks.push((r) => r.decision_id === q.decision_id);
  if (q.destination !== undefined) {
    const want = q.destination;
    if (want.includes(':')) checks.push((r) => r.destination === want);
    else {
      const prefix = `${want}:`;
      checks.push((r) => r.destination.startsWith(prefix) && !r.destination.includes(':', prefix.length));
    }
  }
  if (q.verdict !== undefined) checks.push((r) => r.kind === 'decision' && r.verdict === q.verdict);
  if (q.finding_type !== undefined) checks.push((r) => r.kind === 'scrub' && (r.findings ?? []).some((f) => f.type === q.finding_type));
  if (checks.length === 0) return () => true;
  return (r) => {
    for (const c of checks) if (!c(r)) return false;
    return true;
  };
}

/** Whether a time range [min, max] (epoch ms) can hold records the query's time filters accept. */
export function overlapsTime(q: Pick<AuditQuery, 'since' | 'until'>, min: number | null, max: number | null): boolean {
  if (min === null || max === null) return false;
  if (q.since !== undefined && max < q.since) return false;
  if (q.until !== undefined && min >= q.until) return false;
  return true;
}

/**
 * Substrings a stored line must contain for the query to match it (`"identity":"web"`), so a scan can skip most
 * lines without parsing them. Stored lines are JSON with no whitespace, so each filtered member appears verbatim.
 */
export function compileLinePrefilter(q: AuditQuery): ((line: string) => boolean) | undefined {
  const needles: string[] = [];
  const member = (key: string, value: string) => `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  if (q.identity !== undefined) needles.push(member('identity', q.identity));
  if (q.decision_id !== undefined) needles.push(member('decision_id', q.decision_id));
  if (q.kind !== undefined) needles.push(member('kind', q.kind));
  if (q.verdict !== undefined) needles.push(member('verdict', q.verdict));
  if (q.finding_type !== undefined) needles.push(member('type', q.finding_type));
  if (q.destination !== undefined) needles.push(q.destination.includes(':') ? member('destination', q.destination) : member('destination', `${q.destination}:`).slice(0, -1));
  const { since, until } = q;
  const timed = since !== undefined || until !== undefined;
  if (needles.length === 0 && !timed) return undefined;
  return (line) => {
    for (const n of needles) if (!line.includes(n)) return false;
    if (timed) {
      const at = line.indexOf('"time":"');
      if (at !== -1) {
        const t = Date.parse(line.slice(at + 8, line.indexOf('"', at + 8)));
        if ((since !== undefined && t < since) || (until !== undefined && t >= until)) return false;
      }
    }
    return true;
  };
}
