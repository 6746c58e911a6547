import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../src/engine/policy-version.js';
import type { IdentityResolver } from '../../src/identity/resolver.js';

const HS_SECRET = 'jwt-hs256-secret-0123456789abcdef';
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function resolverFor(jwt: string): IdentityResolver {
  const built = buildPolicy(`version: 1
signedHeader:
  jwt: ${jwt}
identities:
  - { name: ci, match: { signedSubject: ci-runner } }
`);
  if (!built.ok) throw new Error(JSON.stringify(built.problems));
  return built.build.identities;
}

const hs = (claims: Record<string, unknown>, secret = HS_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));

describe('signed identity header (JWT)', () => {
  const hsResolver = resolverFor(`{ secret: { value: "${HS_SECRET}" }, issuer: "https://issuer.example" }`);

  it('an HS256 JWT with the right key and issuer grants the identity named by sub', async () => {
    const token = await hs({ sub: 'ci-runner', iss: 'https://issuer.example' });
    expect(await hsResolver.resolve({ signedHeader: token })).toMatchObject({ name: 'ci', source: 'signed_header' });
  });

  it('a JWT signed with another key grants nothing and says why', async () => {
    const token = await hs({ sub: 'ci-runner', iss: 'https://issuer.example' }, 'some-other-secret-0123456789abcdef');
    const who = await hsResolver.resolve({ signedHeader: token });
    expect(who.name).toBe('unknown');
    expect(who.rejected).toMatch(/JWT rejected/);
  });

  it('an unsigned JWT (alg none) grants nothing', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'none' })}.${b64({ sub: 'ci-runner', iss: 'https://issuer.example', exp: 9999999999 })}.`;
    expect((await hsResolver.resolve({ signedHeader: token })).name).toBe('unknown');
  });

  it('a JWT from the wrong issuer grants nothing', async () => {
    const token = await hs({ sub: 'ci-runner', iss: 'https://evil.example' });
    expect((await hsResolver.resolve({ signedHeader: token })).name).toBe('unknown');
  });

  it('an ES256 JWT verifies against a configured public key', async () => {
    const resolver = resolverFor(`{ publicKeyPem: ${JSON.stringify(PUBLIC_PEM)} }`);
    const token = await new SignJWT({ sub: 'ci-runner' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1h').sign(await importPKCS8(PRIVATE_PEM, 'ES256'));
    expect((await resolver.resolve({ signedHeader: token })).name).toBe('ci');
  });

  it('an HS256 JWT signed with the public key text cannot pass as ES256 (algorithm confusion)', async () => {
    const resolver = resolverFor(`{ publicKeyPem: ${JSON.stringify(PUBLIC_PEM)} }`);
    const token = await hs({ sub: 'ci-runner' }, PUBLIC_PEM);
    expect((await resolver.resolve({ signedHeader: token })).name).toBe('unknown');
  });
});

describe('identity source order', () => {
  it('follows the configured order: the first source that matches wins', async () => {
    const built = buildPolicy(`version: 1
identitySources: [source_cidr, mtls]
identities:
  - { name: by-spiffe, match: { spiffe: "spiffe://td/ns/a/*" } }
  - { name: by-cidr, match: { sourceCidr: "10.0.0.0/8" } }
`);
    if (!built.ok) throw new Error('invalid');
    const facts = { principal: 'spiffe://td/ns/a/sa/x', sourceAddress: '10.2.3.4' };
    expect((await built.build.identities.resolve(facts)).name).toBe('by-cidr');
    expect((await built.build.identities.resolve({ principal: facts.principal, sourceAddress: '192.0.2.1' })).name).toBe('by-spiffe');
  });

  it('a source left out of the order is never consulted', async () => {
    const built = buildPolicy(`version: 1
identitySources: [mtls]
identities:
  - { name: by-cidr, match: { sourceCidr: "10.0.0.0/8" } }
`);
    if (!built.ok) throw new Error('invalid');
    expect((await built.build.identities.resolve({ sourceAddress: '10.2.3.4' })).name).toBe('unknown');
  });
});
