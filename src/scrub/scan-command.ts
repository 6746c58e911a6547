import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { scrubActionsSchema, type ScrubActions } from './config.js';
import { compileDetectors, type DetectorSet } from './engine.js';
import { scrubBody } from './scanners/body.js';
import { answerJsonLine, jsonLines } from './scan-jsonl.js';
import { FindingTally } from './finding-tally.js';
import type { Finding } from './types.js';

/** Findings listed one per line on stderr; beyond it, counts by type (a body can hold millions). */
const MAX_LISTED = 1000;

export interface ScanIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELP = `Usage: tollgate scan [FILE|-] [--content-type TYPE] [--policy FILE] [--jsonl]

Find PII and API tokens in FILE (or stdin) and print the scrubbed content.

  FILE                 input file; "-" or absent reads stdin
  --content-type TYPE  how to read the input (application/json,
                       application/x-www-form-urlencoded, text/plain, ...);
                       default: by extension (.json), else JSON if it parses, else text
  --policy FILE        policy file whose scrub.defaults map sets detector → action
                       (redact | mask | hash | block | allow)
  --jsonl              read JSON lines {"id", "text", "content_type"?} and write one line
                       per input: {"id", "findings": [{"type","start","end","action"}],
                       "scrubbed"}; start/end are UTF-16 offsets into "text"
  -h, --help           show this help

Without --jsonl the scrubbed content goes to stdout and the findings to stderr.
Exit status: 0 nothing found, 1 findings reported, 2 usage or input error
(--jsonl: 0, or 2 if some line could not be read).
Set TOLLGATE_FINGERPRINT_KEY to make fingerprints and hash tokens stable across runs.
`;

/** Streams whose reader has gone away (`tollgate scan | head`): further output is dropped, not an error. */
const closed = new WeakSet<NodeJS.WritableStream>();

function isBrokenPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

/** Without an 'error' listener a closed pipe kills the process with an unhandled EPIPE; with it, the run just stops writing. */
function watchPipe(stream: NodeJS.WritableStream): () => void {
  const onError = (err: unknown): void => {
    if (isBrokenPipe(err)) closed.add(stream);
  };
  stream.on('error', onError);
  return () => stream.removeListener('error', onError);
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (closed.has(stream)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => {
      if (err && isBrokenPipe(err)) closed.add(stream);
      if (err && !isBrokenPipe(err)) reject(err);
      else resolve();
    });
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function loadPolicyActions(file: string): Promise<{ actions?: ScrubActions; errors: string[] }> {
  const doc: unknown = parseYaml(await readFile(file, 'utf8'));
  // A Tollgate policy's `scrub.defaults` (the per-type actions before identity/destination overrides).
  const scrub = typeof doc === 'object' && doc !== null ? (doc as { scrub?: { defaults?: unknown } }).scrub : undefined;
  if (scrub?.defaults === undefined || scrub.defaults === null) return { errors: [] };
  const parsed = scrubActionsSchema.safeParse(scrub.defaults);
  if (parsed.success) return { actions: parsed.data, errors: [] };
  return { errors: parsed.error.issues.map((i) => `${file}: scrub.defaults${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`) };
}

function guessContentType(file: string | undefined, text: string): string {
  if (file?.endsWith('.json')) return 'application/json';
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      JSON.parse(text);
      return 'application/json';
    } catch {
      return 'text/plain';
    }
  }
  return 'text/plain';
}

function describe(f: Finding): string {
  const loc = f.location;
  const where = loc.kind === 'json' ? loc.path : loc.kind === 'header' ? `header ${loc.name}` : loc.kind === 'form' ? `field ${loc.field}` : loc.kind === 'query' ? `param ${loc.param}` : 'text';
  return `${f.type.padEnd(22)} ${where.padEnd(28)} ${`${f.start}-${f.end}`.padEnd(13)} ${f.action.padEnd(7)} fp=${f.fingerprint}`;
}

/** `tollgate scan`: returns the exit status; never throws for user errors. */
export async function runScanCommand(argv: string[], io: ScanIo): Promise<number> {
  const unwatch = [watchPipe(io.stdout), watchPipe(io.stderr)];
  try {
    return await scan(argv, io);
  } finally {
    for (const u of unwatch) u();
  }
}

async function scan(argv: string[], io: ScanIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'content-type': { type: 'string' },
        policy: { type: 'string' },
        jsonl: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    await write(io.stderr, `tollgate scan: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    await write(io.stdout, HELP);
    return 0;
  }
  if (positionals.length > 1) {
    await write(io.stderr, `tollgate scan: expected at most one FILE, got ${positionals.length}\n`);
    return 2;
  }
  const file = positionals[0] === '-' ? undefined : positionals[0];

  let actions: ScrubActions | undefined;
  if (values.policy !== undefined) {
    try {
      const loaded = await loadPolicyActions(values.policy);
      if (loaded.errors.length > 0) {
        await write(io.stderr, loaded.errors.join('\n') + '\n');
        return 2;
      }
      actions = loaded.actions;
    } catch (err) {
      await write(io.stderr, `tollgate scan: cannot read policy ${values.policy}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const key = process.env.TOLLGATE_FINGERPRINT_KEY;
  // --jsonl answers carry no fingerprints: compute them only where `hash` shows one.
  const set = compileDetectors({ ...(actions ? { actions } : {}), ...(key ? { fingerprintKey: key } : {}), ...(values.jsonl ? { fingerprints: 'hash-only' as const } : {}) });

  let input: NodeJS.ReadableStream;
  try {
    input = file === undefined ? io.stdin : await openFile(file);
  } catch (err) {
    await write(io.stderr, `tollgate scan: cannot read ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.jsonl) return runJsonl(set, input, io, values['content-type']);

  const text = await readAll(input);
  const contentType = values['content-type'] ?? guessContentType(file, text);
  const r = scrubBody(set, text, contentType);
  const tally = new FindingTally(MAX_LISTED);
  tally.add(r.findings);
  const lines = [`${tally.total} finding(s); ${r.summary.mode} mode${r.summary.note ? ` (${r.summary.note})` : ''}${r.blocked ? '; request would be BLOCKED' : ''}`];
  for (const f of tally.kept) lines.push(`  ${describe(f)}`);
  if (tally.dropped > 0) lines.push(`  … ${tally.dropped} more not listed; by type: ${Object.entries(tally.counts()).map(([t, n]) => `${t}=${n}`).join(' ')}`);
  await write(io.stderr, lines.join('\n') + '\n');
  await write(io.stdout, r.output.endsWith('\n') || r.output.length === 0 ? r.output : r.output + '\n');
  return r.findings.length > 0 ? 1 : 0;
}

async function openFile(file: string): Promise<NodeJS.ReadableStream> {
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

async function runJsonl(set: DetectorSet, input: NodeJS.ReadableStream, io: ScanIo, defaultType: string | undefined): Promise<number> {
  let status = 0;
  let lineNo = 0;
  for await (const lines of jsonLines(input)) {
    // Nobody reads the answers any more: stop reading input instead of scanning it for nothing.
    if (closed.has(io.stdout)) break;
    let out = '';
    for (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const { answer, ok } = answerJsonLine(set, line, lineNo, defaultType);
      if (!ok) status = 2;
      out += answer + '\n';
    }
    // One write per input chunk, awaited: back-pressure without a promise per line.
    if (out.length > 0) await write(io.stdout, out);
  }
  return status;
}
