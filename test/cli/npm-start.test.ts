import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', { timeout: 120_000 }, () => {
  it('serves the example policy, and SIGTERM to npm stops the server and frees its ports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-npm-start-'));
    const env = { ...process.env, TOLLGATE_DATA_DIR: join(dir, 'data'), TOLLGATE_GRPC_ADDRESS: '127.0.0.1:0', TOLLGATE_ADMIN_ADDRESS: '127.0.0.1:0' };
    const npm = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const serving = await new Promise<{ grpc: string; admin: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('npm start did not log "tollgate serving" within 90 s')), 90_000);
        let text = '';
        npm.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const line = text.split('\n').find((l) => l.includes('"tollgate serving"'));
          if (line) {
            clearTimeout(timer);
            resolve(JSON.parse(line));
          }
        });
      });
      const ports = [serving.grpc, serving.admin].map((a) => Number(a.split(':').pop()));
      for (const port of ports) expect(await listening(port)).toBe(true);
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      npm.kill('SIGTERM');
      await exited;
      // Give the server the moment its own graceful close takes, then nothing may listen any more.
      for (let i = 0; i < 100 && (await listening(ports[0]!)); i++) await new Promise((r) => setTimeout(r, 100));
      for (const port of ports) expect(await listening(port)).toBe(false);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
