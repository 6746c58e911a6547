import { formatNanosFraction, type SecondsNanos } from './duration.js';
import { describeJson, Invalid } from './scalars.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp (`"2024-05-01T12:00:00.5Z"`, offsets allowed) into seconds since the epoch. */
export function parseTimestamp(json: unknown): SecondsNanos | Invalid {
  const m = typeof json === 'string' ? RFC3339.exec(json) : null;
  if (!m) return new Invalid(`expected an RFC 3339 timestamp, got ${describeJson(json)}`);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute!, second!, 0);
  if (year! < 1 || date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day! || hour! > 23 || minute! > 59 || second! > 59) {
    return new Invalid(`${String(json)} is not a valid timestamp`);
  }
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
  return { seconds: date.getTime() / 1000 - offset, nanos: m[7] ? Number(m[7].padEnd(9, '0')) : 0 };
}

export function formatTimestamp(value: SecondsNanos): string {
  const iso = new Date(value.seconds * 1000).toISOString();
  return `${iso.slice(0, 19)}${formatNanosFraction(value.nanos)}Z`;
}
