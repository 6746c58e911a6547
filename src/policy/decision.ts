import type { Mode } from './schema.js';

export interface DecideInput {
  /** Resolved identity name, or `unknown`. */
  identity: string;
  /** Raw `:authority` or CONNECT target (`host[:port]`). */
  authority: string;
  method: string;
  /** `:path`, query included; ignored for CONNECT. */
  path: string;
}

export type Verdict = 'allow' | 'deny' | 'report_deny';

export interface Decision {
  allowed: boolean;
  verdict: Verdict;
  mode: Mode;
  /** Stable id of the matching rule, `default-deny`, `ssrf-guard` or `invalid-request`. */
  rule: string;
  reason: string;
  /** Normalised destination `host:port` (port `default` when the authority had none). */
  destination: string;
  /** The matching rule was a wildcard: the caller should check what the host resolves to. */
  wildcard: boolean;
}
