import { describe, expect, it } from 'vitest';
import { compileDetectors, scrubText, type DetectorId } from '../../src/scrub/index.js';

const set = compileDetectors({ fingerprintKey: 'test-key' });

function types(text: string): DetectorId[] {
  return set.scanText(text).map((f) => f.type);
}

function found(text: string): Array<[DetectorId, string]> {
  return set.scanText(text).map((f) => [f.type, text.slice(f.start, f.end)]);
}

describe('PII detectors', () => {
  it('finds an email address and reports its UTF-16 offsets', () => {
    expect(found('mail 👋 jane.doe+news@mail.example.org now')).toEqual([['email', 'jane.doe+news@mail.example.org']]);
  });

  it('does not mistake retina image names or npm versions for emails', () => {
    expect(types('icon@2x.png and pkg@1.2.3 and a@b')).toEqual([]);
  });

  it('finds phone numbers in E.164 and national formats validated by libphonenumber', () => {
    expect(found('Call +1 415-555-2671 or mobile: 07400 123456')).toEqual([
      ['phone', '+1 415-555-2671'],
      ['phone', '07400 123456'],
    ]);
  });

  it('does not report bare numbers, dates or version strings as phones', () => {
    expect(types('order 4155552671 shipped 2024-01-15 10:00, build 10.0.19041.1, amount 1234567.89')).toEqual([]);
  });

  it('finds Luhn-valid card numbers with an issuer prefix, grouped or not', () => {
    expect(found('card 4539 1488 0343 6467 or 378282246310005')).toEqual([
      ['credit_card', '4539 1488 0343 6467'],
      ['credit_card', '378282246310005'],
    ]);
  });

  it('ignores 16-digit order numbers that fail Luhn', () => {
    expect(types('order 4539148803436468')).toEqual([]);
  });

  it('reports the well-known test card 4111 1111 1111 1111 as a card', () => {
    expect(types('test with 4111 1111 1111 1111')).toEqual(['credit_card']);
  });

  it('finds SSNs that follow the SSA area/group/serial rules', () => {
    expect(types('SSN 536-22-8514')).toEqual(['us_ssn']);
    expect(types('SSN 666-22-8514, 000-12-3456, 536-00-8514, 912-22-8514')).toEqual([]);
  });

  it('finds nine bare SSN digits only next to an SSN word', () => {
    expect(types('ssn: 536228514')).toEqual(['us_ssn']);
    expect(types('ref 536228514')).toEqual([]);
  });

  it('finds IBANs by country length and mod-97, in print and electronic form', () => {
    expect(types('IBAN GB82 WEST 1234 5698 7654 32 or DE89370400440532013000')).toEqual(['iban', 'iban']);
    expect(types('IBAN GB82 WEST 1234 5698 7654 33')).toEqual([]);
  });

  it('finds IPv4 and IPv6 addresses but not versions, loopback or times', () => {
    expect(found('from 203.0.113.7 and 2001:db8:85a3::8a2e:370:7334')).toEqual([
      ['ipv4', '203.0.113.7'],
      ['ipv6', '2001:db8:85a3::8a2e:370:7334'],
    ]);
    expect(types('version 1.2.3.4 at 127.0.0.1, ::1, 10:30:00, std::vector, 00:1a:2b:3c:4d:5e')).toEqual([]);
  });

  it('reports a date of birth only with birth context', () => {
    expect(found('Date of birth: 12 March 1985')).toEqual([['date_of_birth', '12 March 1985']]);
    expect(types('Invoice date 1985-03-12')).toEqual([]);
    expect(set.scanText('1985-03-12', { context: { key: 'user.dob' } }).map((f) => f.type)).toEqual(['date_of_birth']);
  });
});

describe('token detectors', () => {
  const cases: Array<[DetectorId, string]> = [
    ['aws_access_key_id', 'AKIAZ7QRSTUVWXYZ2345'],
    ['github_token', 'ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5'],
    ['github_token', 'github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd'],
    ['gitlab_token', 'glpat-Xk2mP9qR4sT7vW1yZ3bN'],
    ['slack_token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['slack_webhook_url', 'https://hooks.slack.com/services/T0123ABCD/B0123ABCDE/aBcDeFgHiJkLmNoPqRsTuVwX'],
    ['stripe_secret_key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['stripe_secret_key', 'rk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['stripe_test_key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'],
    ['google_api_key', 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'],
    ['openai_api_key', 'sk-proj-Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3rSt6vWx9zAb2dEf5hIj8lMn1p'],
    ['openai_api_key', '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'],
    ['anthropic_api_key', `sk-ant-api03-${'Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3rSt6vWx9zAb2dEf5hIj8lMn1pQr4tUv7xYz0bCd3fGh6jKl9nOp2r'}AA`],
    ['twilio_api_key', 'SK0123456789abcdef0123456789abcdef'],
    ['sendgrid_api_key', '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'],
    ['npm_token', 'npm_Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7j'],
    ['jwt', 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ];
  for (const [type, value] of cases) {
    it(`finds a ${type} (${value.slice(0, 12)}…)`, () => {
      expect(found(`value: ${value} end`)).toEqual([[type, value]]);
    });
  }

  it('finds an AWS secret access key only under an AWS secret-key name', () => {
    const secret = 'Zk8vP2qR5tW9yB3nM6cX1aS4dF7gH0jK2lQ5wE8r';
    expect(types(`aws_secret_access_key = ${secret}`)).toEqual(['aws_secret_access_key']);
    expect(types(`blob ${secret}`)).toEqual([]);
  });

  it('skips published example and placeholder credentials', () => {
    expect(types('AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx sk_live_XXXXXXXXXXXXXXXXXXXXXXXX')).toEqual([]);
  });

  it('requires a JWT header that decodes to JSON with alg', () => {
    expect(types('eyJub3RhIjoiand0In0.eyJzdWIiOiIxIn0.c2ln')).toEqual([]);
  });

  it('finds PEM private key blocks but not public keys or elided examples', () => {
    const body = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVcB/UNPxalR9zDYAjQIfjojUDiQuGnSJrFEEzZPT/92hRANCAASc7UJtgnF/abqWM60T3XNJEzBv5ez9TdwK1QYiF/ZbAWLsX9uasvp2H4NY5zF8yBgjONaoCKxP6s5FdsmRvjh3';
    expect(types(`-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`)).toEqual(['private_key']);
    expect(types(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----`)).toEqual([]);
    expect(types('-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----')).toEqual([]);
  });

  it('finds basic-auth credentials in URLs and Basic headers, not placeholder passwords', () => {
    expect(found('postgres://app:S3cr3tPassw0rd@db.internal:5432/x')).toEqual([['basic_auth', 'app:S3cr3tPassw0rd']]);
    expect(found('Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l')).toEqual([['basic_auth', 'YWxhZGRpbjpvcGVuc2VzYW1l']]);
    expect(types('https://user:password@example.com https://user:${PASSWORD}@example.com')).toEqual([]);
  });

  it('reports other bearer credentials above the entropy floor, and vendor tokens by their own type', () => {
    expect(types('Authorization: Bearer 8f3kQ9zLmP2xR7vT1wY4bN6cJ0hG5dS')).toEqual(['bearer_token']);
    expect(types('Authorization: Bearer ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5')).toEqual(['github_token']);
    expect(types('Bearer aaaaaaaaaaaaaaaaaaaaaa and bearer authenticationtoken')).toEqual([]);
  });

  it('finds a token regardless of the surrounding text and never on UUIDs or hashes', () => {
    expect(types('id 123e4567-e89b-12d3-a456-426614174000 sha e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 commit da39a3ee5e6b4b0d3255bfef95601890afd80709')).toEqual([]);
  });

  it('never reports disabled detectors', () => {
    const onlyEmail = compileDetectors({ detectors: ['email'] });
    expect(onlyEmail.scanText('a@example.com 4111 1111 1111 1111').map((f) => f.type)).toEqual(['email']);
  });

  it('ignores allowlisted values', () => {
    const s = compileDetectors({ allowlist: ['support@acme.example'] });
    expect(s.scanText('support@acme.example bob@acme.example').length).toBe(1);
  });

  it('scrubs every finding of a plain text body', () => {
    expect(scrubText(set, 'mail bob@x.io card 4111-1111-1111-1111').output).toBe('mail [REDACTED:email] card ****-****-****-1111');
  });
});
