import { setPriority } from 'node:os';

/**
 * Nice value of a background worker thread: on a core shared with the event loop, the scheduler gives the loop
 * ~90 % of the core while both want it (CFS weights 1024 vs 110), and the worker everything the loop leaves idle.
 */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's scheduling priority. On Linux the nice value is a per-thread attribute and
 * setpriority(PRIO_PROCESS, 0) changes the calling thread only (man 2 setpriority, "per-thread attribute" under
 * NPTL), so a worker calling this leaves the event loop's thread at its own priority. Best effort: false where the
 * platform refuses (lowering is never a privileged operation on Linux).
 */
export function lowerThreadPriority(nice = BACKGROUND_NICE): boolean {
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}
