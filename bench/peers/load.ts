import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = dirname(fileURLToPath(import.meta.url));

/**
 * `require` resolving from bench/peers, whose node_modules holds the peer tools the scrub benchmark compares with;
 * installed here on first use so they stay out of Tollgate's default install.
 */
export function peerRequire(): NodeRequire {
  if (!existsSync(join(DIR, 'node_modules'))) {
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: DIR, stdio: 'inherit' });
    if (npm.status !== 0) throw new Error(`installing the benchmark peers in ${DIR} failed`);
  }
  return createRequire(join(DIR, 'package.json'));
}
