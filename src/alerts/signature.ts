import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tollgate-signature';
export const TIMESTAMP_HEADER = 'x-tollgate-timestamp';

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the timestamp (unix seconds, sent in
 * x-tollgate-timestamp) is signed too, so a receiver can reject replays of an old delivery.
 */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Receiver side (and tests): constant-time check, optionally rejecting timestamps older than `toleranceSec`. */
export function verifySignature(secret: string, header: string | undefined, timestamp: string | undefined, body: string, opts: { nowSec?: number; toleranceSec?: number } = {}): boolean {
  if (!header || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (opts.toleranceSec !== undefined && Math.abs((opts.nowSec ?? Date.now() / 1000) - Number(timestamp)) > opts.toleranceSec) return false;
  const expected = Buffer.from(signBody(secret, Number(timestamp), body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
