import type { Match, ScanContext } from '../../types.js';
import { isPlaceholder } from '../../validators/placeholder.js';
import type { Detector } from '../detector.js';

const HEADER = /-----BEGIN ((?:[A-Z0-9]{1,12} ){0,3})PRIVATE KEY( BLOCK)?-----/g;
/** An RSA-8192 PEM is ~6.3 KB; anything longer is not one key block. */
const MAX_BLOCK = 16_384;
const MIN_BODY = 64;

/**
 * PEM/OpenSSH/PGP private key blocks. The END marker is found by one forward `indexOf` whose
 * result is reused across headers, so a flood of BEGIN lines stays linear. A block cut off
 * before its END (e.g. at a chunk limit) still counts once its body is long enough.
 */
export const privateKeyDetector: Detector = {
  family: 'private_key',
  ids: ['private_key'],
  anchors: ['-----BEGIN'],
  maxLength: MAX_BLOCK,
  priority: 100,
  find(text: string, first: number, _ctx: ScanContext, out: Match[]): void {
    HEADER.lastIndex = first;
    let nextEnd = -2;
    let m: RegExpExecArray | null;
    while ((m = HEADER.exec(text)) !== null) {
      const bodyStart = m.index + m[0].length;
      if (nextEnd !== -1 && nextEnd < bodyStart) nextEnd = text.indexOf('-----END ', bodyStart);
      let end: number;
      if (nextEnd !== -1 && nextEnd - m.index <= MAX_BLOCK) {
        const close = text.indexOf('-----', nextEnd + 9);
        end = close === -1 ? nextEnd + 9 : close + 5;
      } else {
        end = bodyStart;
        const limit = Math.min(text.length, m.index + MAX_BLOCK);
        while (end < limit && /[A-Za-z0-9+/=\s\\:,-]/.test(text[end]!)) end++;
      }
      const body = text.slice(bodyStart, Math.min(end, nextEnd === -1 ? end : nextEnd));
      if (body.replace(/\\n|\s/g, '').length >= MIN_BODY && !isPlaceholder(body)) {
        out.push({ type: 'private_key', start: m.index, end });
        HEADER.lastIndex = end;
      }
    }
  },
};
