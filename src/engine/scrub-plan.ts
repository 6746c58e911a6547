import { compileDetectors, resolveActions, type ActionMap, type DetectorSet } from '../scrub/index.js';
import { normalizeRuleHost } from '../policy/host.js';
import type { Problem } from '../policy/problems.js';
import type { PolicyDocument } from '../policy/schema.js';

/** The scrub side of a policy version: one compiled detector set and the action map per (identity, host). */
export interface ScrubPlan {
  enabled: boolean;
  detectors: DetectorSet;
  bufferLimitBytes: number;
  maxBodyBytes: number;
  actionsFor(identity: string, host: string): ActionMap;
}

const MEMO_LIMIT = 10_000;
/** A DNS name is at most 253 characters; a longer `:authority` (a caller can send one) is resolved every time, never kept. */
const MEMO_MAX_HOST = 253;

export function compileScrubPlan(doc: PolicyDocument, problems: Problem[]): ScrubPlan {
  const cfg = doc.scrub;
  let fingerprintKey: string | undefined;
  if (cfg.fingerprintKey) {
    fingerprintKey = cfg.fingerprintKey.value ?? (cfg.fingerprintKey.env ? process.env[cfg.fingerprintKey.env] : undefined);
    if (!fingerprintKey) problems.push({ path: 'scrub.fingerprintKey.env', message: `environment variable ${cfg.fingerprintKey.env} is not set` });
  }
  for (const name of Object.keys(cfg.identities)) {
    if (!doc.identities.some((i) => i.name === name) && name !== 'unknown') problems.push({ path: `scrub.identities.${name}`, message: `unknown identity "${name}"` });
  }
  const detectors = compileDetectors({ actions: cfg.defaults, fingerprintKey, allowlist: cfg.allowlist, phoneParseBudget: cfg.phoneParseBudget });
  const base = resolveActions(cfg.defaults);
  const byIdentity = new Map(Object.entries(cfg.identities).map(([name, actions]) => [name, resolveActions(actions, base)]));
  const exact = new Map<string, typeof cfg.defaults>();
  const wildcard = new Map<string, typeof cfg.defaults>();
  for (const [host, actions] of Object.entries(cfg.destinations)) {
    const h = normalizeRuleHost(host);
    if (h.startsWith('*.')) wildcard.set(h.slice(2), actions);
    else exact.set(h, actions);
  }
  const memo = new Map<string, ActionMap>();

  function destinationOverrides(host: string): typeof cfg.defaults | undefined {
    const hit = exact.get(host);
    if (hit) return hit;
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const w = wildcard.get(host.slice(dot + 1));
      if (w) return w;
    }
    return undefined;
  }

  return {
    enabled: cfg.enabled,
    detectors,
    bufferLimitBytes: cfg.bufferLimitBytes,
    maxBodyBytes: cfg.maxBodyBytes,
    actionsFor(identity, host) {
      const key = `${identity}\n${host}`;
      let actions = memo.get(key);
      if (actions) return actions;
      const identityActions = byIdentity.get(identity) ?? base;
      const dest = destinationOverrides(host);
      actions = dest ? resolveActions(dest, identityActions) : identityActions;
      if (host.length > MEMO_MAX_HOST) return actions;
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(key, actions);
      return actions;
    },
  };
}
