import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';

describe('serve safety', () => {
  it('refuses to expose the admin API on a non-loopback address without a token', async () => {
    const config = loadConfig({ grpcAddress: '127.0.0.1:0', adminAddress: '0.0.0.0:0', dataDir: '/tmp/tollgate-unused' }, {});
    await expect(startServer(config)).rejects.toThrow(/without a token/);
  });
});
