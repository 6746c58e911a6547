/**
 * Request bodies for the ext_proc benchmark: a realistic checkout/order JSON (customer, addresses,
 * payment, line items) of an exact size, with the PII an egress call to a payment or CRM API really
 * carries: one customer email, one phone number and one Luhn-valid card number (not a well-known test
 * card, so no placeholder allowlist skips it). Line items fill the body up to the size; they hold
 * ids, SKUs, prices, prose and hashes (hard negatives, not findings). Deterministic for a given size.
 */

import { mulberry32 as rng } from '../lib/rng.js';

/** Values Tollgate must find in every body (checked in the verification step). */
export const PII = {
  email: 'maria.jensen@northwind-mail.com',
  phone: '+44 20 7946 0321',
  card: cardNumber('453914880343646'),
} as const;

/** Appends the Luhn check digit to `prefix` and groups the number in fours, as a checkout form sends it. */
function cardNumber(prefix: string): string {
  let sum = 0;
  for (let i = 0; i < prefix.length; i++) {
    let d = Number(prefix[prefix.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  const full = `${prefix}${(10 - (sum % 10)) % 10}`;
  return full.replace(/(\d{4})(?=\d)/g, '$1 ');
}

const HEX = '0123456789abcdef';
const PRODUCTS = [
  ['Ergonomic office chair, mesh back', 'furniture'],
  ['USB-C docking station with dual HDMI', 'electronics'],
  ['Recycled paper notebooks (pack of 5)', 'stationery'],
  ['Standing desk converter, 80 cm', 'furniture'],
  ['Noise-cancelling headset with boom microphone', 'electronics'],
  ['Whiteboard markers, assorted colours', 'stationery'],
  ['27-inch monitor, 1440p, height adjustable', 'electronics'],
  ['Cable management tray', 'accessories'],
] as const;

/** The order JSON, exactly `bytes` long (UTF-8; all ASCII), minimum about 900 bytes. */
export function orderBody(bytes: number, seed = 42): string {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const hex = (n: number) => Array.from({ length: n }, () => HEX[int(0, 15)]).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const order: Record<string, unknown> = {
    id: `ord_${hex(24)}`,
    object: 'order',
    created: 1_718_000_000 + int(0, 10_000_000),
    status: 'pending_payment',
    currency: 'gbp',
    customer: {
      id: `cus_${hex(14)}`,
      name: 'Maria Jensen',
      email: PII.email,
      phone: PII.phone,
      shipping: { line1: '221 Market Street', line2: 'Floor 3', city: 'London', postal_code: 'EC2A 4NE', country: 'GB' },
    },
    payment_method: {
      type: 'card',
      card: { number: PII.card, exp_month: 8, exp_year: 2028, brand: 'visa', funding: 'credit' },
      billing_details: { name: 'Maria Jensen', postal_code: 'EC2A 4NE' },
    },
    items: [] as unknown[],
    amount_total: 0,
    metadata: { cart_id: uuid(), channel: 'web', campaign: 'summer-sale-2024', app_version: `${int(1, 9)}.${int(0, 20)}.${int(0, 99)}` },
    notes: '',
  };
  const items = order.items as unknown[];
  let total = 0;
  const size = () => Buffer.byteLength(JSON.stringify(order));
  for (;;) {
    const [name, category] = PRODUCTS[int(0, PRODUCTS.length - 1)]!;
    const qty = int(1, 12);
    const unit = int(199, 49_999);
    const item = { id: `li_${hex(20)}`, sku: `SKU-${int(100_000, 999_999)}`, name, category, quantity: qty, unit_amount: unit, tax_code: `txcd_${int(10_000_000, 99_999_999)}`, image_sha256: hex(64), warehouse: { id: uuid(), bin: `A${int(1, 40)}-${int(1, 12)}` } };
    items.push(item);
    order.amount_total = total + qty * unit;
    if (size() > bytes) {
      items.pop();
      order.amount_total = total;
      break;
    }
    total += qty * unit;
  }
  const short = bytes - size();
  if (short < 0) throw new Error(`orderBody: ${bytes} bytes is below the minimum of ${size()}`);
  // Pad with gift-message prose to the exact size.
  const prose = 'Please leave the parcel with the reception desk if nobody answers; the office is open until six. ';
  order.notes = prose.repeat(Math.ceil(short / prose.length) + 1).slice(0, short);
  const out = JSON.stringify(order);
  if (Buffer.byteLength(out) !== bytes) throw new Error(`orderBody: built ${Buffer.byteLength(out)} bytes, wanted ${bytes}`);
  return out;
}
