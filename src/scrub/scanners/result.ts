import type { Finding } from '../types.js';

export interface ScrubResult {
  /** The scrubbed text (identical to the input when nothing was mutated). */
  output: string;
  findings: Finding[];
  /** True when at least one finding's action rewrote the text. */
  changed: boolean;
  /** True when at least one finding's action is `block`: deny the request with the finding types. */
  blocked: boolean;
}
