import { alertsSchema, type AlertsConfigInput } from '../../../src/alerts/schema.js';
import { compileAlertsPlan, type AlertsPlan } from '../../../src/alerts/plan.js';

/** Parses an `alerts:` section as the policy loader would, and compiles it. */
export function plan(input: AlertsConfigInput, env: NodeJS.ProcessEnv = {}): AlertsPlan {
  const problems: { path: string; message: string }[] = [];
  const compiled = compileAlertsPlan(alertsSchema.parse(input), problems, env);
  if (problems.length) throw new Error(JSON.stringify(problems));
  return compiled;
}

/** A settable clock. */
export function manualClock(start: number) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}
