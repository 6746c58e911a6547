import { describe, expect, it } from 'vitest';
import { bodyModeFor, compileDetectors, scrubBody, scrubHeaders, scrubQuery } from '../../src/scrub/index.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

describe('JSON bodies', () => {
  it('scrubs values in place, keeps the JSON valid and reports JSON paths', () => {
    const body = JSON.stringify({ user: { email: 'jane@corp.example.org', tags: ['x', 'call +1 415-555-2671'] }, id: 7 });
    const r = scrubBody(set, body, 'application/json; charset=utf-8');
    expect(JSON.parse(r.output)).toEqual({ user: { email: '[REDACTED:email]', tags: ['x', 'call [REDACTED:phone]'] }, id: 7 });
    expect(r.findings.map((f) => f.location)).toEqual([
      { kind: 'json', path: '$.user.email' },
      { kind: 'json', path: '$.user.tags[1]' },
    ]);
    expect(body.slice(r.findings[0]!.start, r.findings[0]!.end)).toBe('jane@corp.example.org');
  });

  it('turns a number holding a card into a string so the document stays valid', () => {
    const r = scrubBody(set, '{"card":4111111111111111,"n":1}', 'application/json');
    expect(JSON.parse(r.output)).toEqual({ card: '************1111', n: 1 });
  });

  it('handles escaped strings and maps offsets back to the raw body', () => {
    const body = '{"note":"line1\\nmail: bob@example.com \\u00e9","url":"https:\\/\\/hooks.slack.com\\/services\\/T0123ABCD\\/B0123ABCDE\\/aBcDeFgHiJkLmNoPqRsTuVwX"}';
    const r = scrubBody(set, body, 'application/json');
    expect(JSON.parse(r.output)).toEqual({ note: 'line1\nmail: [REDACTED:email] é', url: '[REDACTED:slack_webhook_url]' });
    expect(body.slice(r.findings[0]!.start, r.findings[0]!.end)).toBe('bob@example.com');
  });

  it('uses the key as context for values that need it', () => {
    const r = scrubBody(set, '{"profile":{"date_of_birth":"1990-07-04","created":"1990-07-04"}}', 'application/json');
    expect(r.findings.map((f) => f.location)).toEqual([{ kind: 'json', path: '$.profile.date_of_birth' }]);
  });

  it('scans invalid JSON as text and says so', () => {
    const r = scrubBody(set, '{"email": "bob@example.com"', 'application/json');
    expect(r.output).toBe('{"email": "[REDACTED:email]"');
    expect(r.summary.note).toMatch(/not valid JSON/);
  });

  it('returns a clean body untouched without parsing it', () => {
    const body = '{"id":"123e4567-e89b-12d3-a456-426614174000","v":"1.2.3"}';
    const r = scrubBody(set, body, 'application/json');
    expect(r.output).toBe(body);
    expect(r.findings).toEqual([]);
  });
});

describe('form, query and other bodies', () => {
  it('scrubs form fields and reports offsets into the encoded body', () => {
    const body = 'name=Jo&email=bob%40example.com&card=4111+1111+1111+1111';
    const r = scrubBody(set, body, 'application/x-www-form-urlencoded');
    expect(new URLSearchParams(r.output).get('email')).toBe('[REDACTED:email]');
    expect(new URLSearchParams(r.output).get('card')).toBe('**** **** **** 1111');
    expect(body.slice(r.findings[0]!.start, r.findings[0]!.end)).toBe('bob%40example.com');
    expect(r.findings[0]!.location).toEqual({ kind: 'form', field: 'email' });
  });

  it('scrubs query parameters of a request path', () => {
    const r = scrubQuery(set, '/v1/users?email=bob%40example.com&page=2#top');
    expect(r.output).toBe('/v1/users?email=%5BREDACTED%3Aemail%5D&page=2#top');
    expect(r.findings[0]!.location).toEqual({ kind: 'query', param: 'email' });
  });

  it('leaves binary and unknown content types alone and says headers only', () => {
    const r = scrubBody(set, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), 'image/png');
    expect(r.summary).toMatchObject({ mode: 'headers-only', charsScanned: 0 });
    expect(r.summary.note).toMatch(/headers only/);
    expect(bodyModeFor('application/octet-stream').mode).toBe('headers-only');
    expect(bodyModeFor('application/vnd.api+json').mode).toBe('json');
  });

  it('still scans a textual body with invalid UTF-8 bytes, and says so', () => {
    const r = scrubBody(set, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(' bob@example.com')]), 'text/plain');
    expect(r.summary.mode).toBe('text');
    expect(r.summary.note).toMatch(/not valid UTF-8/);
    expect(r.output).toBe('\ufffd\ufffd [REDACTED:email]');
  });
});

describe('headers', () => {
  it('scrubs Authorization Bearer and Basic credentials but keeps the scheme', () => {
    const r = scrubHeaders(set, [
      { name: 'Authorization', value: 'Bearer 8f3kQ9zLmP2xR7vT1wY4bN6cJ0hG5dS' },
      { name: 'Proxy-Authorization', value: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' },
    ]);
    expect(r.headers.map((h) => h.value)).toEqual(['Bearer [REDACTED:bearer_token]', 'Basic [REDACTED:basic_auth]']);
    expect(r.findings.map((f) => f.location)).toEqual([
      { kind: 'header', name: 'authorization' },
      { kind: 'header', name: 'proxy-authorization' },
    ]);
  });

  it('reports a vendor token in Authorization by its own type', () => {
    const r = scrubHeaders(set, [{ name: 'authorization', value: 'token ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5' }]);
    expect(r.findings.map((f) => f.type)).toEqual(['github_token']);
  });

  it('scrubs session cookies and PII in cookies, leaving others', () => {
    const r = scrubHeaders(set, [{ name: 'Cookie', value: 'theme=dark; session_id=Xk29aPq81LmZ03bNc7Yt; email=bob@example.com' }]);
    expect(r.changed).toEqual([{ name: 'Cookie', value: 'theme=dark; session_id=[REDACTED:bearer_token]; email=[REDACTED:email]' }]);
  });

  it('treats credential-named custom headers as opaque credentials', () => {
    const r = scrubHeaders(set, [
      { name: 'X-Api-Key', value: 'Zq8Lm2Np4Rt6Vx8Bz0Cd2Fg4' },
      { name: 'X-Request-Id', value: 'Zq8Lm2Np4Rt6Vx8Bz0Cd2Fg4' },
    ]);
    expect(r.findings.map((f) => [f.type, f.location])).toEqual([['bearer_token', { kind: 'header', name: 'x-api-key' }]]);
  });

  it('never touches pseudo-headers or host', () => {
    const r = scrubHeaders(set, [
      { name: ':path', value: '/x?email=bob@example.com' },
      { name: 'host', value: 'bob@example.com' },
    ]);
    expect(r.findings).toEqual([]);
  });
});
