import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serveHelp } from '../../src/cli/serve.js';

describe('tollgate serve --help', () => {
  it('documents every environment variable the configuration reads', () => {
    const names = new Set(readFileSync('src/config/config.ts', 'utf8').match(/TOLLGATE_[A-Z_]+/g));
    const missing = [...names].filter((n) => !serveHelp.includes(n.replace(/_(CERT|KEY)$/, '')));
    expect(missing).toEqual([]);
  });

  it('documents every flag serve accepts', () => {
    const source = readFileSync('src/cli/serve.ts', 'utf8');
    const options = source.slice(source.indexOf('options: {'));
    const flags = [...options.matchAll(/^\s+'?([a-z][a-z-]*)'?: \{ type: '(string|boolean)'/gm)].map((m) => m[1]!).filter((f) => f !== 'help');
    expect(flags.length).toBeGreaterThan(10);
    for (const flag of flags) expect(serveHelp, flag).toContain(`--${flag}`);
  });
});
