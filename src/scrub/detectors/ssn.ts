import { isPlaceholder } from '../validators/placeholder.js';

export const SSN_CONTEXT = /ssn|social.?sec|ss#|soc\.? ?sec|tax.?id|\btin\b/i;

/** SSA rules: area 001–899 except 666, group 01–99, serial 0001–9999. */
export function ssnRulesValid(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  return area > 0 && area < 900 && area !== 666 && group > 0 && serial > 0;
}

/**
 * `ddd-dd-dddd` or `ddd dd dddd` (one separator kind) is accepted on its own;
 * nine bare digits only with SSN context, since ids of that length are everywhere.
 */
export function classifySsn(text: string, groups: readonly string[], separators: string, hasCtx: boolean): boolean {
  const digits = groups.join('');
  if (!ssnRulesValid(digits)) return false;
  if (isPlaceholder(text)) return false;
  if (groups.length === 3) {
    if (groups[0]!.length !== 3 || groups[1]!.length !== 2 || groups[2]!.length !== 4) return false;
    return (separators === '--' || separators === '  ');
  }
  return groups.length === 1 && hasCtx;
}
