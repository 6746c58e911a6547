import { Rng, B64, HEX } from './rng.js';
import { GENERATORS } from './values.js';

/**
 * A realistic JSON API body of about `bytes` bytes: a page of records with ids, timestamps,
 * prices, prose, hashes and nested objects. With `pii`, about one record in eight carries
 * an email, phone or card, and one in forty a token.
 */
export function jsonBodyOfSize(bytes: number, pii: boolean, seed = 7): string {
  const r = new Rng(seed);
  const records: unknown[] = [];
  let size = 20;
  let i = 0;
  while (size < bytes) {
    const rec: Record<string, unknown> = {
      id: `${r.chars(HEX, 8)}-${r.chars(HEX, 4)}-4${r.chars(HEX, 3)}-a${r.chars(HEX, 3)}-${r.chars(HEX, 12)}`,
      created_at: new Date(1_650_000_000_000 + r.int(0, 1e10)).toISOString(),
      status: r.pick(['active', 'pending', 'shipped', 'cancelled']),
      amount: Number(`${r.int(1, 9999)}.${r.int(0, 99)}`),
      currency: r.pick(['USD', 'EUR', 'GBP']),
      description: r.pick(['Quarterly subscription renewal for the team plan', 'Replacement parts, expedited shipping', 'Consulting hours (week 32)', 'Refund for duplicate charge']),
      customer: { name: r.pick(['Acme Ltd', 'Globex', 'Initech', 'Umbrella']), tier: r.int(1, 5), tags: ['b2b', 'eu', 'priority'] },
      items: [{ sku: `SKU-${r.digits(6)}`, qty: r.int(1, 20), unit_price: r.int(100, 99999) / 100 }],
      checksum: r.chars(HEX, 64),
      version: `${r.int(1, 9)}.${r.int(0, 20)}.${r.int(0, 99)}`,
    };
    if (i % 50 === 7) rec.thumbnail = `data:image/png;base64,${r.chars(B64, 400)}`;
    if (pii && i % 8 === 3) rec.contact = { email: GENERATORS.email(r).value, phone: GENERATORS.phone(r).value };
    if (pii && i % 8 === 5) rec.payment = { card: GENERATORS.credit_card(r).value };
    if (pii && i % 40 === 11) rec.debug = { token: GENERATORS.github_token(r).value };
    const s = JSON.stringify(rec);
    size += s.length + 1;
    records.push(rec);
    i++;
  }
  return JSON.stringify({ page: 1, records });
}
