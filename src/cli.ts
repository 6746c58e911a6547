import { readFileSync } from 'node:fs';
import { bootstrapCommand, bootstrapHelp } from './cli/bootstrap.js';
import { decideCommand, decideHelp } from './cli/decide.js';
import { providerCommand, providerHelp } from './cli/provider.js';
import { serveCommand, serveHelp } from './cli/serve.js';
import { validateCommand, validateHelp } from './cli/validate.js';
import { runScanCommand } from './scrub/index.js';
import { auditCommand, auditHelp } from './audit/cli.js';
import { suggestPolicyCommand, suggestPolicyHelp } from './inventory/suggest-cli.js';

const scanHelp = `Usage: tollgate scan [FILE|-] [--content-type TYPE] [--policy FILE] [--jsonl]

Finds PII and API tokens in a body and prints the findings and the scrubbed output (run with --help for all options).`;

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  serve: { run: serveCommand, help: serveHelp },
  validate: { run: validateCommand, help: validateHelp },
  decide: { run: decideCommand, help: decideHelp },
  bootstrap: { run: bootstrapCommand, help: bootstrapHelp },
  provider: { run: providerCommand, help: providerHelp },
  audit: { run: (argv) => auditCommand(argv), help: auditHelp },
  'suggest-policy': { run: suggestPolicyCommand, help: suggestPolicyHelp },
  scan: { run: (argv) => runScanCommand(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }), help: scanHelp },
};

/** The first sentence of a command's description (the paragraph after its usage line), joined across line breaks. */
function summary(help: string): string {
  const paragraph = (help.split('\n\n')[1] ?? '').replace(/\s*\n\s*/g, ' ');
  const end = paragraph.search(/[.:](\s|$)/);
  if (end === -1) return paragraph;
  return paragraph[end] === '.' ? paragraph.slice(0, end + 1) : paragraph.slice(0, end);
}

const usage = `Usage: tollgate <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(15)} ${summary(c.help)}`)
  .join('\n')}

Run "tollgate <command> --help" for a command's options, "tollgate --version" for the version.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`tollgate ${version()} (node ${process.versions.node})`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`tollgate: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    console.error(`tollgate ${name}: ${(err as Error).message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
