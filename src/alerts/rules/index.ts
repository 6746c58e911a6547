import type { RuleConfig } from '../schema.js';
import { DeniedRule } from './denied.js';
import { NewDestinationRule } from './new-destination.js';
import { PiiToNewDestinationRule } from './pii-to-new-destination.js';
import type { RuleEvaluator } from './rule.js';
import { TokenMisuseRule } from './token-misuse.js';
import { VolumeSpikeRule } from './volume-spike.js';

export type { RuleEvaluator } from './rule.js';
export { DeniedRule, NewDestinationRule, PiiToNewDestinationRule, TokenMisuseRule, VolumeSpikeRule };

export function createRule(cfg: RuleConfig): RuleEvaluator {
  switch (cfg.type) {
    case 'new_destination':
      return new NewDestinationRule(cfg);
    case 'pii_to_new_destination':
      return new PiiToNewDestinationRule(cfg);
    case 'denied':
      return new DeniedRule(cfg);
    case 'token_misuse':
      return new TokenMisuseRule(cfg);
    case 'volume_spike':
      return new VolumeSpikeRule(cfg);
  }
}

/** What a rule's learned state depends on: when only sinks, severity or dedup change, a reload keeps it. */
export function stateKey(cfg: RuleConfig): string {
  const { name: _n, sinks: _s, severity: _v, dedupWindow: _d, ...params } = cfg;
  return JSON.stringify(params);
}
