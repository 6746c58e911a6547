import { generateKeyPairSync } from 'node:crypto';
import { countrySpecs, isValidIBAN } from 'ibantools';
import { getExampleNumber, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import type { DetectorId } from '../../src/scrub/config.js';
import { luhnCheckDigit } from '../../src/scrub/validators/luhn.js';
import { ALNUM, B64, B64URL, HEX, type Rng } from './rng.js';

/** A generated sensitive value and the key/phrase it would realistically appear under. */
export interface Value {
  type: DetectorId;
  value: string;
  /** JSON key / form field to use. */
  key: string;
  /** Prose lead-in for text bodies. */
  phrase: string;
  /** Whether the value may be written as a JSON number. */
  numeric?: boolean;
  /** Unlabelled text around the labelled value (the URL around credentials, the `Bearer ` scheme). */
  prefix?: string;
  suffix?: string;
}

const FIRST = ['john', 'maria', 'wei', 'aisha', 'lars', 'sofia', 'kenji', 'olga', 'pierre', 'amara', 'diego', 'fatima', 'noah', 'chloe', 'ivan'];
const LAST = ['smith', 'garcia', 'chen', 'khan', 'nielsen', 'rossi', 'tanaka', 'petrova', 'dubois', 'okafor', 'lopez', 'haddad', 'miller', 'martin', 'novak'];
const DOMAINS = ['gmail.com', 'outlook.com', 'acme-corp.io', 'mail.contoso.de', 'yahoo.co.uk', 'fastmail.fm', 'university.edu', 'globex.com.au', 'proton.me', 'corp.initech.net'];

function email(r: Rng): Value {
  const f = r.pick(FIRST);
  const l = r.pick(LAST);
  const local = r.pick([`${f}.${l}`, `${f}${r.int(1, 99)}`, `${f[0]}${l}`, `${f}_${l}+news`, `${l}.${f}${r.int(1950, 2005)}`]);
  return { type: 'email', value: `${local}@${r.pick(DOMAINS)}`, key: r.pick(['email', 'contact_email', 'userEmail', 'to', 'reply_to']), phrase: r.pick(['Please reply to', 'Contact:', 'Forwarded from', 'cc']) };
}

const PHONE_REGIONS: CountryCode[] = ['US', 'GB', 'DE', 'FR', 'AU', 'IN', 'CA', 'ES', 'IT', 'NL'];

function phone(r: Rng): Value {
  for (;;) {
    const region = r.pick(PHONE_REGIONS);
    const ex = getExampleNumber(region, examples);
    if (!ex) continue;
    const nat = ex.nationalNumber;
    const keep = Math.max(2, nat.length - 6);
    const candidate = parsePhoneNumberFromString(nat.slice(0, keep) + r.digits(nat.length - keep), region);
    if (!candidate?.isValid()) continue;
    const style = r.int(0, 3);
    const value = style === 0 ? candidate.number : style === 1 ? candidate.formatInternational() : candidate.formatNational();
    return { type: 'phone', value, key: r.pick(['phone', 'mobile', 'phone_number', 'tel', 'contactPhone']), phrase: r.pick(['Call me at', 'Phone:', 'Mobile:', 'You can reach me on', 'Tel.']) };
  }
}

const CARD_SPECS: Array<[string, number]> = [
  ['4', 16],
  ['4', 16],
  ['51', 16],
  ['55', 16],
  ['2221', 16],
  ['2720', 16],
  ['34', 15],
  ['37', 15],
  ['6011', 16],
  ['65', 16],
  ['3528', 16],
  ['36', 14],
  ['62', 16],
  ['4', 19],
];

export function cardNumber(r: Rng): string {
  const [prefix, len] = r.pick(CARD_SPECS);
  const body = prefix + r.digits(len - prefix.length - 1);
  return body + luhnCheckDigit(body);
}

function card(r: Rng): Value {
  const digits = cardNumber(r);
  const style = r.int(0, 2);
  let value = digits;
  if (style > 0) {
    const sep = style === 1 ? ' ' : '-';
    value = digits.length === 15 || digits.length === 14 ? [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep) : (digits.match(/.{1,4}/g) ?? []).join(sep);
  }
  return { type: 'credit_card', value, key: r.pick(['card_number', 'pan', 'cc', 'cardNumber', 'payment_card']), phrase: r.pick(['Card:', 'Charge my card', 'CC#', 'Use card']), numeric: style === 0 };
}

function ssn(r: Rng): Value {
  let area: number;
  do area = r.int(1, 899);
  while (area === 666);
  const d = `${String(area).padStart(3, '0')}${String(r.int(1, 99)).padStart(2, '0')}${String(r.int(1, 9999)).padStart(4, '0')}`;
  const dashed = r.bool(0.8);
  return { type: 'us_ssn', value: dashed ? `${d.slice(0, 3)}-${d.slice(3, 5)}-${d.slice(5)}` : d, key: r.pick(['ssn', 'social_security_number', 'SSN', 'taxId']), phrase: r.pick(['SSN', 'My social security number is', 'SSN:']) };
}

const IBAN_COUNTRIES = ['GB', 'DE', 'NL', 'FR', 'ES', 'IT', 'CH', 'AT', 'BE', 'PL', 'SE', 'IE', 'DK', 'NO', 'PT'];

function bbanFor(r: Rng, re: string): string {
  let out = '';
  for (const m of re.matchAll(/\[([^\]]+)\]\{(\d+)\}/g)) {
    const cls = m[1]!;
    const n = Number(m[2]);
    const alphabet = cls === 'A-Z' ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : cls === '0-9' ? '0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    out += r.chars(alphabet, n);
  }
  return out;
}

function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const v = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem;
}

export function ibanNumber(r: Rng): string {
  for (;;) {
    const cc = r.pick(IBAN_COUNTRIES);
    const spec = countrySpecs[cc];
    if (!spec?.bban_regexp) continue;
    const bban = bbanFor(r, spec.bban_regexp);
    const check = String(98 - mod97(bban + cc + '00')).padStart(2, '0');
    const iban = cc + check + bban;
    if (isValidIBAN(iban)) return iban;
  }
}

function iban(r: Rng): Value {
  const e = ibanNumber(r);
  const value = r.bool(0.5) ? (e.match(/.{1,4}/g) ?? []).join(' ') : e;
  return { type: 'iban', value, key: r.pick(['iban', 'account', 'bank_account', 'payoutIban']), phrase: r.pick(['Please transfer to', 'IBAN:', 'Account', 'Wire to']) };
}

function ipv4(r: Rng): Value {
  const first = r.pick([23, 31, 45, 52, 66, 81, 91, 104, 142, 151, 176, 185, 203, 212]);
  return { type: 'ipv4', value: `${first}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`, key: r.pick(['ip', 'client_ip', 'remoteAddr', 'x_forwarded_for']), phrase: r.pick(['Login from', 'Client IP', 'Request came from']) };
}

function ipv6(r: Rng): Value {
  const groups = Array.from({ length: 8 }, () => r.chars(HEX, r.int(1, 4)));
  groups[0] = r.pick(['2001', '2a00', '2607', '2a02', '2400']);
  let value = groups.join(':');
  if (r.bool(0.5)) value = `${groups.slice(0, 3).join(':')}::${groups.slice(6).join(':')}`;
  return { type: 'ipv6', value, key: r.pick(['ip', 'client_ip', 'peer']), phrase: r.pick(['Login from', 'Client IP', 'Peer']) };
}

function dob(r: Rng): Value {
  const y = r.int(1940, 2006);
  const m = r.int(1, 12);
  const d = r.int(1, 28);
  const p = (n: number): string => String(n).padStart(2, '0');
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const value = r.pick([`${y}-${p(m)}-${p(d)}`, `${p(m)}/${p(d)}/${y}`, `${p(d)}.${p(m)}.${y}`, `${d} ${months[m - 1]} ${y}`, `${months[m - 1]} ${d}, ${y}`]);
  return { type: 'date_of_birth', value, key: r.pick(['dob', 'date_of_birth', 'birthDate', 'birthday']), phrase: r.pick(['Date of birth:', 'DOB', 'born on', 'Birthday:']) };
}

const TOKEN_KEYS = ['token', 'api_key', 'apiKey', 'secret', 'auth', 'credentials', 'key', 'value', 'config'];

function tok(type: DetectorId, value: string, r: Rng, key?: string, phrase?: string): Value {
  return { type, value, key: key ?? r.pick(TOKEN_KEYS), phrase: phrase ?? r.pick(['token:', 'use', 'export KEY=', 'the key is', 'set']) };
}

let keyPool: string[] | undefined;
function privateKeys(): string[] {
  keyPool ??= [
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  ];
  return keyPool;
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

export function jwtToken(r: Rng): string {
  const header = b64url(JSON.stringify({ alg: r.pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: r.digits(8), name: `${r.pick(FIRST)} ${r.pick(LAST)}`, iat: 1_700_000_000 + r.int(0, 1e7), scope: 'read write' }));
  return `${header}.${payload}.${r.chars(B64URL, 43)}`;
}

const AWS_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** One generator per detector id; every value is valid for its type. */
export const GENERATORS: Record<DetectorId, (r: Rng) => Value> = {
  email,
  phone,
  credit_card: card,
  us_ssn: ssn,
  iban,
  ipv4,
  ipv6,
  date_of_birth: dob,
  aws_access_key_id: (r) => tok('aws_access_key_id', r.pick(['AKIA', 'ASIA']) + r.chars(AWS_B32, 16), r, 'aws_access_key_id', 'AWS_ACCESS_KEY_ID='),
  aws_secret_access_key: (r) => tok('aws_secret_access_key', r.chars(B64, 40), r, r.pick(['aws_secret_access_key', 'AWS_SECRET_ACCESS_KEY', 'secretAccessKey']), r.pick(['aws_secret_access_key =', 'AWS_SECRET_ACCESS_KEY='])),
  github_token: (r) => tok('github_token', r.bool(0.7) ? r.pick(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']) + r.chars(ALNUM, 36) : `github_pat_${r.chars(ALNUM, 22)}_${r.chars(ALNUM, 59)}`, r),
  gitlab_token: (r) => tok('gitlab_token', r.pick(['glpat-', 'gldt-', 'glrt-', 'glptt-']) + r.chars(ALNUM + '_-', 20), r),
  slack_token: (r) => tok('slack_token', `${r.pick(['xoxb', 'xoxp', 'xoxa'])}-${r.digits(12)}-${r.digits(13)}-${r.chars(ALNUM, 24)}`, r),
  slack_webhook_url: (r) => tok('slack_webhook_url', `https://hooks.slack.com/services/T${r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 8)}/B${r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/${r.chars(ALNUM, 24)}`, r, 'webhook_url', 'POST to'),
  stripe_secret_key: (r) => tok('stripe_secret_key', `${r.pick(['sk', 'rk'])}_live_${r.chars(ALNUM, r.pick([24, 99]))}`, r),
  stripe_test_key: (r) => tok('stripe_test_key', `${r.pick(['sk', 'rk'])}_test_${r.chars(ALNUM, r.pick([24, 99]))}`, r),
  google_api_key: (r) => tok('google_api_key', `AIza${r.chars(B64URL, 35)}`, r),
  openai_api_key: (r) => tok('openai_api_key', r.bool(0.5) ? `sk-proj-${r.chars(B64URL, 74)}T3BlbkFJ${r.chars(B64URL, 74)}` : `sk-${r.chars(ALNUM, 20)}T3BlbkFJ${r.chars(ALNUM, 20)}`, r),
  anthropic_api_key: (r) => tok('anthropic_api_key', `sk-ant-api03-${r.chars(B64URL, 93)}AA`, r),
  twilio_api_key: (r) => tok('twilio_api_key', `SK${r.chars(HEX, 32)}`, r),
  sendgrid_api_key: (r) => tok('sendgrid_api_key', `SG.${r.chars(B64URL, 22)}.${r.chars(B64URL, 43)}`, r),
  npm_token: (r) => tok('npm_token', `npm_${r.chars(ALNUM, 36)}`, r),
  jwt: (r) => tok('jwt', jwtToken(r), r, r.pick(['id_token', 'access_token', 'jwt', 'session']), 'Bearer'),
  private_key: (r) => tok('private_key', r.pick(privateKeys()).trimEnd(), r, r.pick(['private_key', 'key', 'pem', 'tls_key']), 'key:\n'),
  basic_auth: (r) => {
    const user = r.pick(FIRST);
    const pass = r.chars(ALNUM + '!$', r.int(10, 20));
    if (r.bool(0.5)) {
      return { ...tok('basic_auth', Buffer.from(`${user}:${pass}`).toString('base64'), r, 'authorization', 'Authorization:'), prefix: 'Basic ' };
    }
    return { ...tok('basic_auth', `${user}:${pass}`, r, r.pick(['database_url', 'dsn', 'upstream']), 'connect to'), prefix: r.pick(['postgres://', 'https://', 'amqp://', 'redis://']), suffix: r.pick(['@db.internal:5432/app', '@api.partner.com/v1', '@mq.internal:5672/']) };
  },
  bearer_token: (r) => ({ ...tok('bearer_token', r.chars(B64URL, r.int(32, 64)), r, 'authorization', 'Authorization:'), prefix: 'Bearer ' }),
};

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Hard negatives shaped like the false phones an independent evaluation found: digit groups that
 * are pieces of longer identifiers (reference and order numbers, digit-only UUIDs, versions,
 * timestamps, coordinates), also when their separators are percent-encoded. Random digits, so no
 * detector can learn the strings; the keys are neutral words that give no "not a phone" hint.
 */
export function identifierNegative(r: Rng): { key: string; value: string } {
  const d = (n: number): string => r.digits(n);
  const key = r.pick(['ref', 'reference', 'ticket', 'case', 'record', 'item', 'doc']);
  switch (r.int(0, 9)) {
    case 0: {
      const shape = r.pick([[3, 3, 4, 2], [3, 3, 4, 1], [3, 3, 4, 4], [4, 3, 3, 4], [2, 3, 3, 4, 2], [3, 3, 4, 2, 2], [1, 3, 3, 4, 2]]);
      return { key, value: shape.map((n) => d(n)).join(r.pick(['-', '-', '.'])) };
    }
    case 1:
      return { key, value: `${r.pick(['ORD', 'INV', 'PO', 'REF', 'TKT', 'CASE', 'RMA'])}-${r.int(2015, 2030)}-${d(3)}-${d(3)}-${d(4)}` };
    case 2:
      return { key, value: r.bool() ? `${d(3)}-${d(3)}-${d(4)}-${r.pick(['A', 'B', 'X', 'EU', '01A', 'r2'])}` : `${r.pick(['A', 'X', 'B7', 'NL'])}${r.pick(['', '-'])}${d(3)}-${d(3)}-${d(4)}` };
    case 3:
      return { key: 'uuid', value: `${d(8)}-${d(4)}-${d(4)}-${d(4)}-${d(12)}` };
    case 4:
      return { key: 'version', value: `${r.int(1, 20)}.${d(3)}.${d(3)}.${d(4)}` };
    case 5: {
      const [y, mo, da, h, mi, s] = [r.int(2000, 2030), r.int(1, 12), r.int(1, 28), r.int(0, 23), r.int(0, 59), r.int(0, 59)];
      return {
        key: 'at',
        value: r.pick([
          `${y}-${pad2(mo)}-${pad2(da)} ${pad2(h)}:${pad2(mi)}:${pad2(s)}`,
          `${y}${pad2(mo)}${pad2(da)}-${pad2(h)}${pad2(mi)}${pad2(s)}`,
          `${y}-${pad2(mo)}-${pad2(da)}T${pad2(h)}:${pad2(mi)}:${pad2(s)}.${d(3)}+0${r.int(1, 9)}:00`,
          `${pad2(da)}.${pad2(mo)}.${y} ${pad2(h)}:${pad2(mi)}`,
        ]),
      };
    }
    case 6: {
      const lat = (r.next() * 180 - 90).toFixed(r.int(4, 7));
      const lng = (r.next() * 360 - 180).toFixed(r.int(4, 7));
      return { key: 'location', value: r.pick([`${lat},${lng}`, `${lat}, ${lng}`, `${lat} ${lng}`]) };
    }
    case 7:
      return { key: 'link', value: `https://shop.test/t?ref=${r.pick(['ORD', 'INV', 'TKT'])}%2D${r.int(2015, 2030)}%2D${d(3)}%2D${d(3)}%2D${d(4)}` };
    case 8:
      return { key: 'link', value: `https://shop.test/s?ids=${d(3)}-${d(3)}-${d(4)}-${d(2)}%2C${d(3)}-${d(3)}-${d(4)}-${d(2)}&page=${r.int(1, 9)}` };
    default:
      return { key: 'path', value: `/v1/items%2F${d(3)}-${d(3)}-${d(4)}-${d(2)}%3Frev%3D${d(2)}` };
  }
}
