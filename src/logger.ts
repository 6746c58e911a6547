import pino, { type DestinationStream, type Logger } from 'pino';
import { isoNow } from './clock/iso-now.js';

/** Longest a log line waits in the buffer before it reaches stdout. */
export const LOG_FLUSH_MS = 200;

/**
 * JSON logs to stdout, buffered (4 KiB) so the per-decision audit line costs no write syscall on the Check hot path,
 * and flushed at least every LOG_FLUSH_MS so "serving", reload errors and quiet-hour decisions show up promptly (a
 * buffer that only drains when full kept them back until exit). Flushed synchronously on exit and on fatal errors.
 * Redaction is a second line of defence: no code path logs raw header values.
 */
export function createLogger(level: string): Logger {
  const boom = pino.destination({ dest: 1, sync: false, minLength: 4096, contentMode: 'buffer' });
  const timer = setInterval(() => boom.flush(), LOG_FLUSH_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    boom.flushSync();
  });
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      // One ISO `time` per line; records that carry their own `time` drop it when logged (audit/*-log.ts).
      timestamp: () => `,"time":"${isoNow()}"`,
      // Top-level paths only: wildcard redaction walks every object on every line, a measurable cost per decision.
      redact: { paths: ['headers', 'authorization', 'cookie', 'token'], censor: '[REDACTED]' },
    },
    bufferLines(boom),
  );
}

/**
 * sonic-boom in its default string mode measures the whole pending chunk (`Buffer.byteLength` of a string of up to
 * 16 KiB, flattened each time) on every line: 6.9% of a Check's CPU in the bench profile. In buffer mode each line is
 * encoded once and appended to a list, so a line costs the same however much is pending.
 */
function bufferLines(boom: ReturnType<typeof pino.destination>): DestinationStream {
  return {
    write: (line: string) => boom.write(Buffer.from(line, 'utf8') as unknown as string),
    flush: (cb?: (err?: Error) => void) => boom.flush(cb),
    flushSync: () => boom.flushSync(),
  } as DestinationStream;
}
