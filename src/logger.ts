import pino, { type Logger } from 'pino';

/** Longest a log line waits in the buffer before it reaches stdout. */
export const LOG_FLUSH_MS = 200;

/**
 * JSON logs to stdout, buffered (4 KiB) so the per-decision audit line costs no write syscall on the Check hot path,
 * and flushed at least every LOG_FLUSH_MS so "serving", reload errors and quiet-hour decisions show up promptly (a
 * buffer that only drains when full kept them back until exit). Flushed synchronously on exit and on fatal errors.
 * Redaction is a second line of defence: no code path logs raw header values.
 */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => destination.flush(), LOG_FLUSH_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    destination.flushSync();
  });
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      // One ISO `time` per line; records that carry their own `time` drop it when logged (audit/*-log.ts).
      timestamp: pino.stdTimeFunctions.isoTime,
      // Top-level paths only: wildcard redaction walks every object on every line, a measurable cost per decision.
      redact: { paths: ['headers', 'authorization', 'cookie', 'token'], censor: '[REDACTED]' },
    },
    destination,
  );
}
