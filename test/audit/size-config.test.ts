import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('audit size cap setting', () => {
  it('defaults to 10 GiB, reads sizes with units from the flag or TOLLGATE_AUDIT_MAX_BYTES, and "off" means no cap', () => {
    expect(loadConfig({}, {}).auditMaxBytes).toBe(10 * 2 ** 30);
    expect(loadConfig({ auditMaxBytes: '500MB' }, {}).auditMaxBytes).toBe(500e6);
    expect(loadConfig({}, { TOLLGATE_AUDIT_MAX_BYTES: '1.5 TiB' }).auditMaxBytes).toBe(1.5 * 2 ** 40);
    expect(loadConfig({}, { TOLLGATE_AUDIT_MAX_BYTES: '1048576' }).auditMaxBytes).toBe(1048576);
    expect(loadConfig({ auditMaxBytes: 'off' }, {}).auditMaxBytes).toBe(Number.POSITIVE_INFINITY);
    expect(loadConfig({}, { TOLLGATE_AUDIT_RETENTION_DAYS: '7' }).auditRetentionDays).toBe(7);
  });

  it('refuses an unreadable size, naming the setting', () => {
    let err: unknown;
    try {
      loadConfig({ auditMaxBytes: '10 gigs' }, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^auditMaxBytes: expected a size such as 10GiB/)]);
  });
});
