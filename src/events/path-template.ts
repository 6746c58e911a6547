const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{12,}$/i;
const NUMBER = /^[0-9]+$/;
/** Prefixed ids such as `cus_NffrFeUfNV2Hib` or `ch_3MmlLr`: a word, "_" or "-", then a token with digits or mixed case. */
const PREFIXED_ID = /^[a-z]{1,8}[_-][A-Za-z0-9]{6,}$/;

function isId(seg: string): boolean {
  if (NUMBER.test(seg) || UUID.test(seg) || HEX.test(seg)) return true;
  if (PREFIXED_ID.test(seg) && /[0-9A-Z]/.test(seg.slice(seg.search(/[_-]/) + 1))) return true;
  // Long opaque tokens (base64ish with digits) are ids, plain words are not.
  return seg.length >= 16 && /[0-9]/.test(seg) && /^[A-Za-z0-9_-]+$/.test(seg);
}

/** `/v1/customers/cus_NffrFeUfNV2Hib/charges/42?x=1` → `/v1/customers/{id}/charges/{id}`. */
export function pathTemplate(path: string): string {
  const q = path.search(/[?#]/);
  const bare = q === -1 ? path : path.slice(0, q);
  if (bare === '' || bare === '/') return '/';
  const segs = bare.split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s !== '' && isId(s)) segs[i] = '{id}';
  }
  const out = segs.join('/');
  return out.length > 256 ? `${out.slice(0, 256)}…` : out;
}
