import type { Logger } from 'pino';
import type { BackgroundErrorReporter } from './background.js';

export interface ProcessGuardOptions {
  log: Pick<Logger, 'error' | 'fatal'>;
  /** Counts stray rejections once the server (and its metrics) exist. */
  report?: () => BackgroundErrorReporter | undefined;
  exit?: (code: number) => void;
}

/**
 * Process-level last resort for `tollgate serve`. A promise rejection nobody handled is a bug in a
 * background task, and the state it leaves is still consistent (every install is all-or-nothing), so it is
 * logged, counted and the server keeps answering Envoy, which would otherwise fail closed for all egress.
 * An uncaught exception may have left a synchronous update half done: log it as fatal and exit 70
 * (EX_SOFTWARE) so a supervisor restarts a clean process. Returns the uninstaller.
 */
export function installProcessGuards(opts: ProcessGuardOptions): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const onRejection = (reason: unknown) => {
    const report = opts.report?.();
    if (report) report('unhandled-rejection', reason);
    else opts.log.error({ err: reason }, 'unhandled promise rejection; still serving');
  };
  const onException = (err: Error) => {
    opts.log.fatal({ err }, `uncaught exception, exiting: ${err.message}`);
    exit(70);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
