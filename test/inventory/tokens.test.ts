import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/index.js';
import { isForeignDestination, TOKEN_ISSUERS } from '../../src/scrub/token-issuers.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { at, scrub } from './events.js';

function inventory(tokenIssuers?: Record<string, string[]>) {
  return new Inventory({ store: new EmbeddedInventoryStore(), tokenIssuers });
}

describe('token inventory', () => {
  it('keys tokens by fingerprint with type, identities, destinations, count and first/last seen', async () => {
    const inv = inventory();
    await inv.ingest([
      scrub({ time: at(5), destination: 'api.github.com:443', findings: [{ type: 'github_token', fingerprint: 'fp-gh' }] }),
      scrub({ time: at(9), destination: 'uploads.github.com:443', findings: [{ type: 'github_token', fingerprint: 'fp-gh' }] }),
      scrub({ findings: [{ type: 'stripe_secret_key', fingerprint: 'fp-stripe' }] }),
    ]);
    const { items } = await inv.tokens();
    expect(items.map((t) => t.fingerprint)).toEqual(['fp-gh', 'fp-stripe']);
    expect(items[0]).toEqual({
      fingerprint: 'fp-gh',
      type: 'github_token',
      identities: ['billing'],
      destinations: ['api.github.com:443', 'uploads.github.com:443'],
      foreign_destinations: [],
      count: 2,
      where: { header: 2, body: 0, query: 0 },
      first_seen: at(5),
      last_seen: at(9),
      flags: [],
    });
  });

  it('flags a token used by more than one identity as sprawl', async () => {
    const inv = inventory();
    await inv.ingest([
      scrub({ identity: 'billing', findings: [{ type: 'stripe_secret_key', fingerprint: 'shared' }] }),
      scrub({ identity: 'reports', findings: [{ type: 'stripe_secret_key', fingerprint: 'shared' }] }),
      scrub({ identity: 'billing', findings: [{ type: 'stripe_secret_key', fingerprint: 'own' }] }),
    ]);
    const { items } = await inv.tokens({ flag: 'sprawl' });
    expect(items.map((t) => [t.fingerprint, t.identities])).toEqual([['shared', ['billing', 'reports']]]);
  });

  it('flags a GitHub token sent to pastebin.com as a foreign destination', async () => {
    const inv = inventory();
    await inv.ingest([
      scrub({ identity: 'ci', destination: 'api.github.com:443', findings: [{ type: 'github_token', fingerprint: 'gh' }] }),
      scrub({ identity: 'ci', destination: 'pastebin.com:443', findings: [{ type: 'github_token', fingerprint: 'gh' }] }),
      scrub({ identity: 'ci', destination: 'objects.githubusercontent.com:443', findings: [{ type: 'github_token', fingerprint: 'gh-ok' }] }),
    ]);
    const { items } = await inv.tokens({ flag: 'foreign_destination' });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ fingerprint: 'gh', foreign_destinations: ['pastebin.com:443'], flags: ['foreign_destination'] });
  });

  it('never flags a foreign destination for token types without one issuer (JWT, bearer, basic auth)', async () => {
    const inv = inventory();
    await inv.ingest(
      ['jwt', 'bearer_token', 'basic_auth', 'private_key'].map((type) => scrub({ destination: 'pastebin.com:443', findings: [{ type, fingerprint: type }] })),
    );
    expect((await inv.tokens({ flag: 'foreign_destination' })).items).toEqual([]);
    expect((await inv.tokens()).total).toBe(4);
  });

  it('accepts extra issuer hosts, e.g. a self-hosted GitLab', async () => {
    const inv = inventory({ gitlab_token: ['gitlab.internal.example'] });
    await inv.ingest([scrub({ destination: 'gitlab.internal.example:443', findings: [{ type: 'gitlab_token', fingerprint: 'gl' }] })]);
    expect((await inv.tokens({ flag: 'foreign_destination' })).items).toEqual([]);
    expect(isForeignDestination(TOKEN_ISSUERS, 'gitlab_token', 'gitlab.internal.example')).toBe(true);
  });

  it('flags a token seen in a body or query string rather than a header', async () => {
    const inv = inventory();
    await inv.ingest([
      scrub({ findings: [{ type: 'openai_api_key', fingerprint: 'in-json', where: 'json:$.api_key' }] }),
      scrub({ findings: [{ type: 'openai_api_key', fingerprint: 'in-query', where: 'query:key' }] }),
      scrub({ findings: [{ type: 'openai_api_key', fingerprint: 'in-header', where: 'header:authorization' }] }),
    ]);
    const flagged = (await inv.tokens({ flag: 'outside_header', sort: 'count' })).items;
    expect(flagged.map((t) => [t.fingerprint, t.where])).toEqual([
      ['in-json', { header: 0, body: 1, query: 0 }],
      ['in-query', { header: 0, body: 0, query: 1 }],
    ]);
  });

  it('filters tokens by type and identity', async () => {
    const inv = inventory();
    await inv.ingest([
      scrub({ identity: 'a', findings: [{ type: 'slack_token', fingerprint: 's' }] }),
      scrub({ identity: 'b', findings: [{ type: 'npm_token', fingerprint: 'n' }] }),
    ]);
    expect((await inv.tokens({ type: 'npm_token' })).items.map((t) => t.fingerprint)).toEqual(['n']);
    expect((await inv.tokens({ identity: 'a' })).items.map((t) => t.fingerprint)).toEqual(['s']);
  });

  it('keeps PII findings out of the token inventory', async () => {
    const inv = inventory();
    await inv.ingest([scrub({ findings: [{ type: 'email', fingerprint: 'e' }] })]);
    expect((await inv.tokens()).total).toBe(0);
  });
});
