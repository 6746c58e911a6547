import type { Problem } from '../policy/problems.js';
import type { AlertsConfig, RetryConfig, RuleConfig, SinkConfig } from './schema.js';

/** A sink with its signing secret resolved (from the policy or the environment). */
export interface ResolvedSink extends Omit<SinkConfig, 'secret'> {
  secret?: string;
}

/** The alerts side of a policy version: what an AlertEngine runs. */
export interface AlertsPlan {
  sinks: ReadonlyMap<string, ResolvedSink>;
  rules: readonly RuleConfig[];
  retry: RetryConfig;
}

export const EMPTY_ALERTS_PLAN: AlertsPlan = Object.freeze({ sinks: new Map(), rules: [], retry: { attempts: 5, baseMs: 500, maxMs: 30_000 } });

/** Resolves secrets; problems (an unset environment variable) are appended with their path. */
export function compileAlertsPlan(cfg: AlertsConfig | undefined, problems: Problem[], env: NodeJS.ProcessEnv = process.env, path = 'alerts'): AlertsPlan {
  if (!cfg) return EMPTY_ALERTS_PLAN;
  const sinks = new Map<string, ResolvedSink>();
  cfg.sinks.forEach((s, i) => {
    const { secret: ref, ...rest } = s;
    let secret: string | undefined;
    if (ref) {
      secret = ref.value ?? (ref.env ? env[ref.env] : undefined);
      if (!secret) problems.push({ path: `${path}.sinks[${i}].secret.env`, message: `environment variable ${ref.env} is not set` });
    }
    sinks.set(s.name, { ...rest, secret });
  });
  return { sinks, rules: cfg.rules, retry: cfg.retry };
}
