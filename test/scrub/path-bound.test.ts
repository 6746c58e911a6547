import { describe, expect, it } from 'vitest';
import { redactPath } from '../../src/scrub/path.js';

describe('the stored audit path of a very long request path', () => {
  it('keeps at most 512 characters plus a marker, and never a value near the cut', () => {
    // A card number written across segments right where the kept part ends must still be seen whole.
    const filler = 'a/'.repeat(253); // 506 characters of plain segments
    const out = redactPath(`/v1/${filler}4111/1111/1111/1111/more`);
    expect(out.length).toBeLessThanOrEqual(513);
    expect(out).not.toMatch(/4111|1111/);
  });

  it('examines only the start of a path whose segments stay short once redacted, and says it dropped the rest', () => {
    // 400 plain 31-character segments pass 512 characters after ~16: the rest, an email included, is never examined or stored.
    const words = Array.from({ length: 400 }, (_, i) => `w${i.toString(36).padStart(30, 'x')}`);
    const out = redactPath(`/${words.join('/')}/jane.doe@example.com`);
    expect(out.endsWith('…')).toBe(true);
    expect(out).not.toContain('jane.doe');
    expect(out.length).toBeLessThanOrEqual(513);
  });

  it('leaves ordinary paths exactly as before', () => {
    expect(redactPath('/v1/users/jane.doe@example.com/cards/4111/1111/1111/1111?x=1')).toBe('/v1/users/{email}/cards/{credit_card}/{credit_card}/{credit_card}/{credit_card}');
    expect(redactPath('/v1/customers/cus_NffrFeUfNV2Hib/charges/42')).toBe('/v1/customers/cus_NffrFeUfNV2Hib/charges/42');
  });
});
