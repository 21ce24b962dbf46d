import { parseArgs } from 'node:util';
import { IdraApiError, IdraClient } from '@idra/api-client';
import { OPTIONS, need, type CliIo, type Command, type CommandContext, type Flags } from './command.ts';
import { authCommands } from './commands/auth.ts';
import { clusterCommands } from './commands/cluster.ts';
import { dataSourceCommands } from './commands/datasources.ts';
import { notificationCommands } from './commands/notifications.ts';
import { offsetCommands } from './commands/offsets.ts';
import { syncCommands } from './commands/syncs.ts';
import { tokenCommands } from './commands/tokens.ts';
import { transferCommands } from './commands/transfer.ts';
import { userCommands } from './commands/users.ts';
import { loadCredentials } from './credentials.ts';
import { EXIT, ExitError, UsageError, exitCodeLines, exitCodeOf } from './exit-codes.ts';
import { json } from './output.ts';

export type { CliIo } from './command.ts';

/** Every command, in the order the usage lists them. */
const COMMANDS: Command[] = [
  ...authCommands,
  ...syncCommands,
  ...dataSourceCommands,
  ...transferCommands,
  ...offsetCommands,
  ...clusterCommands,
  ...tokenCommands,
  ...userCommands,
  ...notificationCommands,
];

const BY_NAME = new Map(COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((name) => [name, c] as const)));

/** Column where the help of a command starts in the usage. */
const HELP_COLUMN = 59;

function usageLines(words: string, usage: string | undefined, help: string[] = []): string[] {
  const [first = '', ...more] = (usage ?? '').split('\n');
  const head = `  ${[words, first].filter(Boolean).join(' ')}`;
  const rest = more.map((l) => `${' '.repeat(words.length + 3)}${l}`);
  const lines = [head, ...rest];
  const last = lines.length - 1;
  // The help starts on the command's last line when it fits there, else on the next one.
  if (help.length > 0 && lines[last]!.length < HELP_COLUMN - 2) {
    lines[last] = `${lines[last]!.padEnd(HELP_COLUMN)}${help[0]}`;
    return [...lines, ...help.slice(1).map((h) => `${' '.repeat(HELP_COLUMN)}${h}`)];
  }
  return [...lines, ...help.map((h) => `${' '.repeat(HELP_COLUMN)}${h}`)];
}

export const USAGE = `Usage: idra <command> [options]

${COMMANDS.flatMap((c) => [...usageLines(c.name, c.usage, c.help), ...(c.also ?? []).flatMap((a) => usageLines(c.name, a.usage, a.help))]).join('\n')}

Options:
  --url <url>      API server (default: $IDRA_API_URL, then the stored login)
  --token <token>  session or API token (default: $IDRA_TOKEN, then the stored login)
  --json           machine-readable output on stdout (errors as JSON on stderr)
  -h, --help

Exit codes:
${exitCodeLines().join('\n')}
`;

async function client(flags: Flags, io: CliIo): Promise<IdraClient> {
  const stored = await loadCredentials(io.env);
  const baseUrl = flags.url ?? io.env.IDRA_API_URL ?? stored?.url;
  if (!baseUrl) throw new UsageError('no API server: give --url, set IDRA_API_URL, or run idra login');
  const token = flags.token ?? io.env.IDRA_TOKEN ?? (stored && (!flags.url || flags.url === stored.url) ? stored.token : undefined);
  return new IdraClient({ baseUrl, token });
}

/** The command the positional words name (two words first: `syncs pause`, then one: `status <id>`), and its arguments. */
function find(words: string[]): { command: Command; args: string[] } {
  for (const n of [2, 1]) {
    const command = words.length >= n ? BY_NAME.get(words.slice(0, n).join(' ')) : undefined;
    if (command) return { command, args: words.slice(n) };
  }
  throw new UsageError(`unknown command: ${words.join(' ')}`);
}

/** Runs one CLI invocation; resolves the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let flags: Flags;
  let words: string[];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    flags = parsed.values;
    words = parsed.positionals;
  } catch (err) {
    io.stderr.write(`idra: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (flags.help || words.length === 0) {
    (flags.help ? io.stdout : io.stderr).write(USAGE);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  try {
    const { command, args } = find(words);
    let api: Promise<IdraClient> | undefined;
    const ctx: CommandContext = {
      args,
      flags,
      io,
      out: (text, data) => io.stdout.write(flags.json ? json(data) : text),
      api: () => (api ??= client(flags, io)),
      id: () => need(args[0], `<id> (idra ${command.name} <id>)`),
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (err) {
    const code = exitCodeOf(err);
    if (flags.json) {
      const body =
        err instanceof IdraApiError
          ? { code: err.code, message: err.message, status: err.status, details: err.details }
          : { code: err instanceof ExitError ? err.code : code === EXIT.usage ? 'IDRA_ERR_CLI_USAGE' : 'IDRA_ERR_CLI', message: (err as Error).message };
      io.stderr.write(json({ error: body, exitCode: code }));
    } else {
      io.stderr.write(`idra: ${(err as Error).message}${err instanceof IdraApiError && err.status > 0 ? ` (${err.code})` : ''}\n`);
      const issues = err instanceof IdraApiError ? err.details?.issues : undefined;
      for (const i of issues ?? []) io.stderr.write(`  ${i.path}: ${i.message}\n`);
      if (code === EXIT.usage) io.stderr.write(`\n${USAGE}`);
    }
    return code;
  }
}
