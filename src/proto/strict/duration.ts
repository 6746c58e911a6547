import { describeJson, Invalid } from './scalars.js';

/** A Duration or Timestamp as protobuf stores it: seconds and nanos carry the same sign. */
export interface SecondsNanos {
  seconds: number;
  nanos: number;
}

/** google.protobuf.Duration's documented range, ±10,000 years. */
export const MAX_DURATION_SECONDS = 315_576_000_000;

const DURATION_TEXT = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Parses the canonical JSON form of a Duration, e.g. `"0.25s"`, `"-1.5s"`, `"30s"`. */
export function parseDuration(json: unknown): SecondsNanos | Invalid {
  const match = typeof json === 'string' ? DURATION_TEXT.exec(json) : null;
  if (!match) return new Invalid(`expected a duration string like "0.25s", got ${describeJson(json)}`);
  const sign = match[1] ? -1 : 1;
  const seconds = Number(match[2]);
  if (seconds > MAX_DURATION_SECONDS) return new Invalid(`duration ${String(json)} is out of range`);
  const nanos = match[3] ? Number(match[3].padEnd(9, '0')) : 0;
  return { seconds: sign * seconds || 0, nanos: sign * nanos || 0 };
}

/** `.5`, `.250`, `.000001`: the fractional part of canonical Duration and Timestamp text. */
export function formatNanosFraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(Math.abs(nanos)).padStart(9, '0');
  // Canonical output uses 0, 3, 6 or 9 fractional digits.
  const trimmed = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `.${trimmed}`;
}

export function formatDuration(value: SecondsNanos): string {
  const negative = value.seconds < 0 || value.nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(value.seconds)}${formatNanosFraction(value.nanos)}s`;
}

export function compareSecondsNanos(a: SecondsNanos, b: SecondsNanos): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

/** Reads a `{seconds, nanos}` literal from a validate option (`gt {}` arrives as an empty object). */
export function secondsNanosOf(raw: unknown): SecondsNanos {
  const obj = (raw ?? {}) as { seconds?: unknown; nanos?: unknown };
  return { seconds: Number(obj.seconds ?? 0), nanos: Number(obj.nanos ?? 0) };
}

export function isNegative(value: SecondsNanos): boolean {
  return value.seconds < 0 || value.nanos < 0;
}
