import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import type { AdminEvent } from '../../src/events/types.js';
import { Inventory } from '../../src/inventory/index.js';
import { EmbeddedInventoryStore } from '../../src/store/embedded/inventory-store.js';
import { plan } from '../alerts/support/engine.js';
import { at, decision, HOUR } from '../alerts/support/events.js';
import { WebhookReceiver } from '../alerts/support/receiver.js';

const change = (t: number): AdminEvent => ({
  kind: 'admin',
  time: at(t),
  identity: 'bob',
  destination: 'tollgate-admin',
  method: 'PUT',
  path_template: '/v1/policy',
  who: 'bob',
  role: 'editor',
  action: 'policy.update',
  from_version: 1,
  to_version: 2,
  diff: ['@@ -1 +1 @@', '-a', '+b'],
  remote: '127.0.0.1',
});

describe('admin records are not egress traffic', () => {
  it('the inventory shows no edge, token or PII for an admin change', async () => {
    const inventory = new Inventory({ store: new EmbeddedInventoryStore() });
    await inventory.ingest([change(0)]);
    expect((await inventory.destinations()).items).toEqual([]);
    expect((await inventory.tokens()).items).toEqual([]);
    expect((await inventory.pii()).items).toEqual([]);
  });

  it('no alert rule fires on an admin change, while a new destination after learning still alerts', async () => {
    const receiver = await new WebhookReceiver().start();
    const engine = new AlertEngine(
      plan({
        sinks: [{ name: 'hook', type: 'webhook', url: receiver.url, secret: { value: 'alert-secret-0123456789' } }],
        rules: [
          { name: 'new', type: 'new_destination', sinks: ['hook'], learningPeriod: '1m' },
          { name: 'spike', type: 'volume_spike', sinks: ['hook'], metric: 'requests' },
        ],
      }),
    );
    try {
      expect(engine.observe([decision({ t: 0 })])).toEqual([]);
      expect(engine.observe([change(2 * HOUR)])).toEqual([]);
      expect(engine.observe([decision({ t: 2 * HOUR, destination: 'pastebin.com:443' })])).toHaveLength(1);
    } finally {
      await engine.close();
      await receiver.stop();
    }
  });
});
