import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dockerfile = readFileSync('Dockerfile', 'utf8');

describe('Dockerfile', () => {
  it('copies everything the server reads at run time: the CLI, the sources, the dashboard and the example policy', () => {
    const copied = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const path of ['package.json', 'package-lock.json', 'bin', 'src', 'ui', 'examples', 'tsconfig.json']) expect(copied).toContain(path);
  });

  it('creates /data for the unprivileged user before declaring it a volume and dropping root', () => {
    const chown = dockerfile.indexOf('chown node:node /data');
    expect(chown).toBeGreaterThan(-1);
    expect(chown).toBeLessThan(dockerfile.indexOf('VOLUME /data'));
    expect(dockerfile.indexOf('VOLUME /data')).toBeLessThan(dockerfile.indexOf('USER node'));
  });
});
