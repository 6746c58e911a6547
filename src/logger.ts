import pino, { type Logger } from 'pino';

/** JSON logs to stdout. Redaction is a second line of defence: no code path logs raw header values. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tollgate' },
    redact: { paths: ['*.authorization', '*.cookie', '*.headers', 'headers', 'token', '*.token'], censor: '[REDACTED]' },
  });
}
