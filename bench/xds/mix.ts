/** Stream i speaks SotW when i % 100 < sotwPercent (50: half and half, interleaved in blocks of 50). */
export function kindOf(i: number, sotwPercent: number): 'sotw' | 'delta' {
  return i % 100 < sotwPercent ? 'sotw' : 'delta';
}
