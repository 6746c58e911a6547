import { describe, expect, it } from 'vitest';
import { pathForAudit } from '../../src/authz/check-request.js';
import { pathTemplate } from '../../src/events/path-template.js';
import { edgeKey } from '../../src/inventory/edges.js';
import { compileDetectors, scrubBody, scrubHeaders, scrubQuery } from '../../src/scrub/index.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

const RAW = {
  email: 'alice@example.com',
  github: 'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5',
  aws: 'AKIAZ7QRSTUVWXYZ2345',
  ssn: '536-22-8514',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  card: '4111111111111111',
};
const PATHS = [
  `/v1/users/${RAW.email}/profile`,
  `/v1/users/${encodeURIComponent(RAW.email)}`,
  `/hooks/${RAW.github}`,
  `/keys/${RAW.aws}/rotate`,
  `/people/${RAW.ssn}`,
  `/session/${RAW.jwt}`,
  `/cards/${RAW.card}`,
  '/cards/4111/1111/1111/1111',
  '/v1/x/q8ZmT3kR9vX2pL7wN4cY6bH1jF5gD0sA',
  `/v1/search?email=${RAW.email}&token=${RAW.github}`,
];

function leaks(text: string): string[] {
  return Object.values(RAW).filter((v) => text.includes(v) || text.includes(encodeURIComponent(v)));
}

describe('stored locations cannot carry a raw value', () => {
  it('the audit path keeps ids that are not secrets but no token, email, SSN or card', () => {
    for (const p of PATHS) {
      const stored = pathForAudit(p);
      expect(leaks(stored), `${p} → ${stored}`).toEqual([]);
      expect(set.scanText(stored)).toEqual([]);
    }
    expect(pathForAudit(`/v1/users/${RAW.email}/profile`)).toBe('/v1/users/{email}/profile');
    expect(pathForAudit('/v1/customers/cus_NffrFeUfNV2Hib/charges/42?email=x')).toBe('/v1/customers/cus_NffrFeUfNV2Hib/charges/42');
    expect(pathForAudit('/cards/4111/1111/1111/1111')).toBe('/cards/{credit_card}/{credit_card}/{credit_card}/{credit_card}');
    expect(pathForAudit('/v1/x/q8ZmT3kR9vX2pL7wN4cY6bH1jF5gD0sA')).toBe('/v1/x/{secret}');
  });

  it('the path template keeps only plain words', () => {
    for (const p of PATHS) {
      const t = pathTemplate(p);
      expect(leaks(t), `${p} → ${t}`).toEqual([]);
      expect(set.scanText(t)).toEqual([]);
    }
    expect(pathTemplate(`/keys/${RAW.aws}/rotate`)).toBe('/keys/{id}/rotate');
    expect(pathTemplate('/v1/customers/cus_NffrFeUfNV2Hib/charges/42?x=1')).toBe('/v1/customers/{id}/charges/{id}');
    expect(pathTemplate(pathTemplate('/a/b%40c/d'))).toBe('/a/{id}/d');
  });

  it('an email used as a JSON key is scrubbed and the finding location does not name it', () => {
    const body = JSON.stringify({ [RAW.email]: { note: `call ${RAW.ssn}` }, contacts: { [RAW.aws]: 1 }, plain: RAW.email });
    const r = scrubBody(set, body, 'application/json');
    expect(leaks(r.output)).toEqual([]);
    const where = r.findings.map((f) => (f.location.kind === 'json' ? f.location.path : ''));
    expect(where).toEqual(['$', '$.{key}.note', '$.contacts', '$.plain']);
    expect(leaks(JSON.stringify(r.findings))).toEqual([]);
  });

  it('form fields, query parameters and header names that hold a value are not named in findings', () => {
    const form = scrubBody(set, `${encodeURIComponent(RAW.email)}=1&${RAW.aws}=2&ok=${RAW.ssn}`, 'application/x-www-form-urlencoded');
    expect(leaks(form.output)).toEqual([]);
    expect(form.findings.map((f) => (f.location.kind === 'form' ? f.location.field : ''))).toEqual(['{key}', '{key}', 'ok']);
    const q = scrubQuery(set, `/x?${RAW.email}=1`);
    expect(leaks(JSON.stringify(q.findings))).toEqual([]);
    const h = scrubHeaders(set, [{ name: `x-${RAW.aws}`, value: RAW.github }]);
    expect(leaks(JSON.stringify(h.findings))).toEqual([]);
  });

  it('an inventory edge key keeps neither a raw path segment nor a method that is a value', () => {
    const key = edgeKey({ identity: 'billing', destination: 'api.example.com:443', method: RAW.aws, path_template: `/u/${RAW.email}/p/${RAW.ssn}/n/42/{id}` });
    expect(leaks(key)).toEqual([]);
    expect(JSON.parse(key)).toEqual(['billing', 'api.example.com:443', 'OTHER', '/u/{id}/p/{id}/n/42/{id}']);
  });
});
