import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { Problem } from '../policy/problems.js';
import type { PolicyDocument, SecretRef } from '../policy/schema.js';

export type Verified = { ok: true; subject: string } | { ok: false; reason: string };

export interface SignedHeaderVerifier {
  header: string;
  verify(token: string, nowSeconds?: number): Promise<Verified>;
}

const CACHE_LIMIT = 10_000;

function readSecret(ref: SecretRef, path: string, problems: Problem[]): Buffer | undefined {
  const value = ref.value ?? (ref.env ? process.env[ref.env] : undefined);
  if (value === undefined || value === '') {
    problems.push({ path: `${path}.env`, message: `environment variable ${ref.env} is not set` });
    return undefined;
  }
  return Buffer.from(value, 'utf8');
}

/**
 * Builds the verifier for signed identity headers. HMAC tokens are `v1.<subject>.<expiry>.<hex sig>` with
 * sig = HMAC-SHA256(secret, "v1.<subject>.<expiry>"); JWTs are verified with jose and yield `sub`.
 * An unsigned, expired or forged header never grants an identity.
 */
export function compileSignedHeader(doc: PolicyDocument, problems: Problem[]): SignedHeaderVerifier | undefined {
  const cfg = doc.signedHeader;
  if (!cfg) return undefined;
  if (!cfg.hmac && !cfg.jwt) {
    problems.push({ path: 'signedHeader', message: 'configure hmac or jwt (or both)' });
    return undefined;
  }
  const hmacKey = cfg.hmac ? readSecret(cfg.hmac.secret, 'signedHeader.hmac.secret', problems) : undefined;
  let jwtKey: KeyObject | undefined;
  let jwtAlgorithms: string[] = [];
  if (cfg.jwt?.secret) {
    const secret = readSecret(cfg.jwt.secret, 'signedHeader.jwt.secret', problems);
    if (secret) {
      jwtKey = createSecretKey(secret);
      jwtAlgorithms = ['HS256'];
    }
  } else if (cfg.jwt?.publicKeyPem) {
    try {
      jwtKey = createPublicKey(cfg.jwt.publicKeyPem);
      const type = jwtKey.asymmetricKeyType;
      jwtAlgorithms = type === 'rsa' ? ['RS256'] : type === 'ec' ? ['ES256'] : type === 'ed25519' ? ['EdDSA'] : [];
      if (jwtAlgorithms.length === 0) problems.push({ path: 'signedHeader.jwt.publicKeyPem', message: `unsupported key type ${type}` });
    } catch (err) {
      problems.push({ path: 'signedHeader.jwt.publicKeyPem', message: `not a PEM public key: ${(err as Error).message}` });
    }
  }
  const jwtOptions = { algorithms: jwtAlgorithms, issuer: cfg.jwt?.issuer, audience: cfg.jwt?.audience };
  // Verified JWTs are cached by token text until they expire, so the hot path skips the signature check.
  const cache = new Map<string, { subject: string; exp: number }>();

  async function verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<Verified> {
    if (token.length > 8192) return { ok: false, reason: 'signed identity header too long' };
    if (token.startsWith('v1.')) {
      if (!hmacKey) return { ok: false, reason: 'HMAC identity tokens are not enabled' };
      return verifyHmac(hmacKey, token, nowSeconds);
    }
    if (!jwtKey) return { ok: false, reason: 'JWT identity tokens are not enabled' };
    const cached = cache.get(token);
    if (cached && cached.exp > nowSeconds) return { ok: true, subject: cached.subject };
    try {
      const { payload } = await jwtVerify(token, jwtKey, { ...jwtOptions, currentDate: new Date(nowSeconds * 1000) });
      if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, reason: 'JWT has no sub claim' };
      if (typeof payload.exp !== 'number') return { ok: false, reason: 'JWT has no exp claim' };
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(token, { subject: payload.sub, exp: payload.exp });
      return { ok: true, subject: payload.sub };
    } catch (err) {
      return { ok: false, reason: `JWT rejected: ${(err as { code?: string }).code ?? 'invalid'}` };
    }
  }
  return { header: cfg.header, verify };
}

function verifyHmac(key: Buffer, token: string, nowSeconds: number): Verified {
  const lastDot = token.lastIndexOf('.');
  const expDot = token.lastIndexOf('.', lastDot - 1);
  if (lastDot <= 3 || expDot <= 3) return { ok: false, reason: 'malformed HMAC identity token' };
  const signed = token.slice(0, lastDot);
  const subject = token.slice(3, expDot);
  const expiry = Number(token.slice(expDot + 1, lastDot));
  const sig = token.slice(lastDot + 1);
  if (subject === '' || !Number.isInteger(expiry) || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'malformed HMAC identity token' };
  const expected = createHmac('sha256', key).update(signed).digest();
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'HMAC identity token signature mismatch' };
  if (expiry <= nowSeconds) return { ok: false, reason: 'HMAC identity token expired' };
  return { ok: true, subject };
}

/** Mints an HMAC identity token (for workloads, tests and `tollgate` tooling). */
export function signHmacToken(secret: string, subject: string, expirySeconds: number): string {
  const signed = `v1.${subject}.${expirySeconds}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('hex')}`;
}
