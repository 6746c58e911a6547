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
  const boom = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const stream = bufferLines(boom);
  const timer = setInterval(() => stream.flush(), LOG_FLUSH_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    stream.flushSync();
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
    stream,
  );
}

type LineStream = DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void };

/** Lines are handed to sonic-boom in chunks of about this many characters. */
const CHUNK_CHARS = 4096;

/**
 * sonic-boom measures its whole pending chunk (`Buffer.byteLength` of a string of up to 16 KiB, flattened each time) on
 * every write: 6.9% of a Check's CPU in the bench profile when each log line was one write, and encoding each line to
 * a Buffer first still cost 3.3%. Lines are collected here and handed over about 4 KiB at a time, so a line costs an
 * array push; the collected lines go out on every flush (the LOG_FLUSH_MS timer, exit, fatal errors) as before.
 */
function bufferLines(boom: ReturnType<typeof pino.destination>): LineStream {
  let lines: string[] = [];
  let chars = 0;
  const handOver = () => {
    if (lines.length === 0) return;
    const chunk = lines.join('');
    lines = [];
    chars = 0;
    boom.write(chunk);
  };
  return {
    write(line: string) {
      lines.push(line);
      chars += line.length;
      if (chars >= CHUNK_CHARS) handOver();
    },
    flush(cb?: (err?: Error) => void) {
      handOver();
      boom.flush(cb);
    },
    flushSync() {
      handOver();
      boom.flushSync();
    },
  };
}
