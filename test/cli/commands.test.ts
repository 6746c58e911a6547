import { describe, expect, it } from 'vitest';
import { commands, summary } from '../../src/cli/commands.js';
import { auditHelp } from '../../src/audit/cli.js';
import { bootstrapHelp } from '../../src/cli/bootstrap.js';
import { decideHelp } from '../../src/cli/decide.js';
import { providerHelp } from '../../src/cli/provider.js';
import { serveHelp } from '../../src/cli/serve.js';
import { validateHelp } from '../../src/cli/validate.js';
import { suggestPolicyHelp } from '../../src/inventory/suggest-cli.js';

// `tollgate --help` lists summaries without importing the commands (so it starts fast); they must not drift.
describe('tollgate --help', () => {
  it("gives each command the first sentence of that command's own --help", () => {
    const helps: Record<string, string> = { serve: serveHelp, validate: validateHelp, decide: decideHelp, bootstrap: bootstrapHelp, provider: providerHelp, audit: auditHelp, 'suggest-policy': suggestPolicyHelp };
    for (const [name, help] of Object.entries(helps)) expect(commands[name]?.summary, name).toBe(summary(help));
    expect(Object.keys(commands).sort()).toEqual([...Object.keys(helps), 'scan'].sort());
  });
});
