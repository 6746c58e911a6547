import type { Logger } from 'pino';

/** Where a background task (reload, watcher, flush, delivery) reports a failure instead of rejecting into the void. */
export type BackgroundErrorReporter = (task: string, err: unknown) => void;

/** Logs and counts each background failure; the task carries on (or retries on its next tick). */
export function backgroundReporter(log: Pick<Logger, 'error'>, counter?: { inc(labels: { task: string }): void }): BackgroundErrorReporter {
  return (task, err) => {
    counter?.inc({ task });
    log.error({ err, task }, `background task "${task}" failed; still serving`);
  };
}

/** Starts `fn` without awaiting it; a rejection goes to `report`, never to the process. */
export function runInBackground(task: string, fn: () => Promise<unknown>, report: BackgroundErrorReporter): void {
  let p: Promise<unknown>;
  try {
    p = fn();
  } catch (err) {
    report(task, err);
    return;
  }
  p.catch((err: unknown) => report(task, err));
}
