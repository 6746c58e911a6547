import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/index.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { at, scrub } from './events.js';

describe('PII map', () => {
  it('counts each PII type per identity and destination with the actions taken', async () => {
    const inv = new Inventory({ store: new EmbeddedInventoryStore() });
    await inv.ingest([
      scrub({ time: at(1), findings: [{ type: 'email', action: 'redact' }, { type: 'email', action: 'redact' }, { type: 'credit_card', action: 'block' }] }),
      scrub({ time: at(4), findings: [{ type: 'email', action: 'hash' }] }),
      scrub({ time: at(2), identity: 'support', destination: 'api.zendesk.com:443', findings: [{ type: 'phone', action: 'mask' }] }),
      scrub({ findings: [{ type: 'github_token' }] }),
    ]);
    const { items, total } = await inv.pii({ sort: 'count' });
    expect(total).toBe(3);
    expect(items[0]).toEqual({
      identity: 'billing',
      destination: 'api.stripe.com:443',
      type: 'email',
      count: 3,
      actions: { hash: 1, redact: 2 },
      first_seen: at(1),
      last_seen: at(4),
    });
    expect(items.map((p) => `${p.identity}>${p.type}`)).toEqual(['billing>email', 'billing>credit_card', 'support>phone']);
  });

  it('filters the PII map by identity, host and type', async () => {
    const inv = new Inventory({ store: new EmbeddedInventoryStore() });
    await inv.ingest([
      scrub({ findings: [{ type: 'email' }, { type: 'iban' }] }),
      scrub({ identity: 'support', destination: 'api.zendesk.com:443', findings: [{ type: 'email' }] }),
    ]);
    expect((await inv.pii({ identity: 'support' })).items.map((p) => p.destination)).toEqual(['api.zendesk.com:443']);
    expect((await inv.pii({ host: '*.zendesk.com' })).total).toBe(1);
    expect((await inv.pii({ type: 'iban' })).items.map((p) => p.identity)).toEqual(['billing']);
  });
});
