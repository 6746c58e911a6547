/** A subcommand's entry point: its arguments in, its exit code out. */
export type CommandRun = (argv: string[]) => Promise<number>;

export interface CommandEntry {
  /** The first sentence of the command's help (test/cli/commands.test.ts keeps it equal to `summary(help)`). */
  summary: string;
  /** Imports the command's module only when it runs, so one command never pays for loading another's. */
  load: () => Promise<CommandRun>;
}

export const commands: Record<string, CommandEntry> = {
  serve: {
    summary: 'Starts the gRPC port (ext_authz, ext_proc, access logs, ADS, grpc.health.v1) and the admin REST API.',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  validate: {
    summary: 'Checks a policy file',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  decide: {
    summary: 'Evaluates one request against a policy file, as ext_authz would, and prints the decision and its reason.',
    load: async () => (await import('./decide.js')).decideCommand,
  },
  bootstrap: {
    summary: 'Prints the Envoy bootstrap YAML for an egress gateway',
    load: async () => (await import('./bootstrap.js')).bootstrapCommand,
  },
  provider: {
    summary: 'Prints the manifests that make Tollgate the ext_authz and ext_proc provider of a gateway someone else configures (Tollgate then runs with --no-xds)',
    load: async () => (await import('./provider.js')).providerCommand,
  },
  audit: {
    summary: "Verifies the audit log's hash chain, or exports audit records as JSONL for a SIEM.",
    load: async () => {
      const { auditCommand } = await import('../audit/cli.js');
      return (argv) => auditCommand(argv);
    },
  },
  'suggest-policy': {
    summary: 'Turns observed allowed traffic into a least-privilege policy',
    load: async () => (await import('../inventory/suggest-cli.js')).suggestPolicyCommand,
  },
  scan: {
    summary: 'Finds PII and API tokens in a body and prints the findings and the scrubbed output (run with --help for all options).',
    load: async () => {
      // scan-command.js directly, not the scrub/index.js barrel, which would load every scanner's module.
      const { runScanCommand } = await import('../scrub/scan-command.js');
      return (argv) => runScanCommand(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    },
  },
};

/** The first sentence of a command's description (the paragraph after its usage line), joined across line breaks. */
export function summary(help: string): string {
  const paragraph = (help.split('\n\n')[1] ?? '').replace(/\s*\n\s*/g, ' ');
  const end = paragraph.search(/[.:](\s|$)/);
  if (end === -1) return paragraph;
  return paragraph[end] === '.' ? paragraph.slice(0, end + 1) : paragraph.slice(0, end);
}

export const usage = `Usage: tollgate <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(15)} ${c.summary}`)
  .join('\n')}

Run "tollgate <command> --help" for a command's options, "tollgate --version" for the version.`;
