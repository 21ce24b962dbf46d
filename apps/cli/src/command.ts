import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { parseArgs } from 'node:util';
import { IdraApiError, type IdraClient, type Role } from '@idra/api-client';
import { UsageError } from './exit-codes.ts';

/** Every option a command may take (parsed once, strictly: an unknown option is a usage error). */
export const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  username: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
  overwrite: { type: 'boolean' },
  wait: { type: 'boolean' },
  reason: { type: 'string' },
  value: { type: 'string' },
  tiebreaker: { type: 'string' },
  position: { type: 'string' },
  reset: { type: 'boolean' },
  name: { type: 'string' },
  role: { type: 'string' },
  'expires-in-days': { type: 'string' },
  source: { type: 'string' },
  destination: { type: 'string' },
  tables: { type: 'string' },
  all: { type: 'boolean' },
  mode: { type: 'string' },
  'id-prefix': { type: 'string' },
  'table-prefix': { type: 'string' },
  'write-mode': { type: 'string' },
  'revoke-tokens': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'skip-refused': { type: 'boolean' },
  'go-etcd': { type: 'string' },
  'go-etcd-user': { type: 'string' },
  'time-zone': { type: 'string' },
  paused: { type: 'boolean' },
  offset: { type: 'string' },
  confirm: { type: 'string' },
  until: { type: 'string' },
  timeout: { type: 'string' },
  interval: { type: 'string' },
  prune: { type: 'boolean' },
  'no-replace': { type: 'boolean' },
  yes: { type: 'boolean' },
} as const;

export type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** What a command runs with. */
export interface CommandContext {
  /** The positional arguments after the command's words. */
  args: string[];
  flags: Flags;
  io: CliIo;
  /** Writes `text`, or `data` as JSON with --json. */
  out(text: string, data: unknown): void;
  /** The API client: --url, $IDRA_API_URL or the stored login, with --token, $IDRA_TOKEN or the stored token. */
  api(): Promise<IdraClient>;
  /** The first argument, required (a usage error names the command). */
  id(): string;
}

/** One command of the table the CLI dispatches on and prints its usage from. */
export interface Command {
  /** The words that name it: `syncs pause`. */
  name: string;
  /** Other words that run it (`agents` for `agents list`). */
  aliases?: string[];
  /** Its arguments and options as the usage shows them; a second line is indented under the first. */
  usage?: string;
  /** What it does, one entry per line of the usage. */
  help?: string[];
  /** Other ways to call it, each shown on its own line. */
  also?: Array<{ usage: string; help: string[] }>;
  run(ctx: CommandContext): Promise<void>;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Lines typed at a terminal (hidden when `secret`) or read from piped stdin. */
export async function ask(io: CliIo, questions: Array<{ prompt: string; secret: boolean }>): Promise<string[]> {
  if (!io.stdin.isTTY) {
    const lines = (await readAll(io.stdin)).split(/\r?\n/);
    return questions.map((_, i) => lines[i] ?? '');
  }
  const answers: string[] = [];
  for (const q of questions) {
    const rl = createInterface({ input: io.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput(s: string): void };
    answers.push(
      await new Promise<string>((resolve) => {
        rl.question(q.prompt, resolve);
        if (q.secret) out._writeToOutput = () => {};
      }),
    );
    rl.close();
    if (q.secret) process.stderr.write('\n');
  }
  return answers;
}

/** One secret line (a password), typed hidden at a terminal or read from stdin. */
export const askSecret = async (io: CliIo, prompt: string): Promise<string> => (await ask(io, [{ prompt, secret: true }]))[0]!;

/** The JSON document of `-f <file>` (`-` for stdin). */
export async function readDocument(io: CliIo, file: string | undefined): Promise<unknown> {
  if (!file) throw new UsageError('-f <file> is required (- for stdin)');
  const text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_BAD_FILE', message: `${file} is not valid JSON: ${(err as Error).message}` });
  }
}

export function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} is required`);
  return value;
}

const ROLES: readonly string[] = ['admin', 'operator', 'viewer'];

export function roleFlag(role: string | undefined): Role {
  if (role === undefined || !ROLES.includes(role)) throw new UsageError('--role must be admin, operator or viewer');
  return role as Role;
}
