import { createHmac, randomBytes } from 'node:crypto';

export type Fingerprinter = (type: string, normalized: string) => string;

/**
 * Keyed fingerprints: HMAC-SHA256(key, type ":" value), first 16 hex chars (64 bits).
 * Stable for a given key, so hashed values still join downstream; useless without the key.
 * Without a key a random per-process key is used, and fingerprints only join within that process.
 */
export function createFingerprinter(key?: string | Uint8Array): Fingerprinter {
  const k = key === undefined ? randomBytes(32) : key;
  // Bodies repeat values (the same address in every record); a small bounded memo saves the HMAC.
  const memo = new Map<string, string>();
  return (type, normalized) => {
    const input = `${type}:${normalized}`;
    let fp = memo.get(input);
    if (fp === undefined) {
      fp = createHmac('sha256', k).update(input).digest('hex').slice(0, 16);
      if (memo.size >= 1024) memo.clear();
      memo.set(input, fp);
    }
    return fp;
  };
}
