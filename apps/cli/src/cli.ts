import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { IdraApiError, IdraClient, type Position, type Role, type SyncConfig } from '@idra/api-client';
import { EXIT, UsageError, exitCodeOf } from './exit-codes.ts';
import { loadCredentials, removeCredentials, saveCredentials } from './credentials.ts';
import { json, lagText, stateText, statusText, table } from './output.ts';
import { goIdraRunning, importSummary, migrate, migrationPlan, reportText } from './go-idra.ts';
import { changeOptions, historyText, withOffsetDecision } from './history.ts';
import { describeSyncStatus, syncRows } from './sync-views.ts';
import { planBulkSyncs, type BulkSettings } from '@idra/core/bulk';

export const USAGE = `Usage: idra <command> [options]

  login [--url URL] [--username NAME] [--password-stdin]   log in; keeps a session token in ~/.config/idra/credentials.json (0600)
  login --url URL --token TOKEN                            keep an API token instead
  logout                                                   end the session and forget the credentials
  whoami
  password                                                 change your password (reads current and new, one per line, from stdin when it is not a terminal)
  syncs list                                               syncs with health (problems first), agent, total rows, lag, dead letters
  syncs status <id>                                        health, attempts, totals, progress, lag and the last hour of history
  syncs bulk --source <ds> --destination <ds> (--tables a,b | --all) [--mode id|timestamp|full] [--id-prefix p]
             [--table-prefix p] [--write-mode insert|upsert] [--paused] [--dry-run]
                                                           one sync per table, key and cursor columns detected; all or none
  syncs retry <id>                                         attempt again now (skips the backoff; after a rejected row, once fixed)
  syncs get <id>                                           one sync as JSON (secrets masked)
  syncs check (<id> | -f <file|->)                         connect to the sync's source as an agent would: exit 1 with the reason when it would not run
  syncs apply -f <file|-> [--reason <text>] [--offset reset|keep [--confirm <id>]]
                                                           create or replace the syncs (and data sources) of a file; --offset: what to do
                                                           with a stored offset the change moves (another table, cursor, key or mode)
  syncs delete <id> [--reason <text>]
  syncs pause <id> [--wait] [--reason <text>]              --wait: until its agent has stopped it
  syncs resume <id> [--reason <text>]
  syncs history <id>                                       every create, update, pause, resume and delete: who, when, what, why
  syncs export [<id>...] [-o <file>]                       importable JSON (secrets masked)
  import -f <file|-> [--overwrite] [--dry-run] [--skip-refused]
                                                           Idra export, sync array, or original Go Idra export (also: syncs import);
                                                           Go Idra: a report of every sync and field; --dry-run writes nothing
  migrate --go-etcd <url> [--time-zone <zone>] [--dry-run] [--paused] [--overwrite] [--skip-refused]
                                                           admin: import a running Go Idra's syncs with their offsets from its etcd
                                                           (read only; IDRA_GO_ETCD_USERNAME, IDRA_GO_ETCD_PASSWORD, IDRA_GO_ETCD_CA/CERT/KEY
                                                           for TLS); stop Go Idra first
  offsets get <id>
  offsets set <id> --reason <text> (--value <v> [--tiebreaker <t>] | --position <json> | --reset)
                                                           admin only, on a paused sync whose agent has stopped
  offsets history <id>
  agents list
  status [<id>]
  tokens create --name <name> [--role admin|operator|viewer] [--expires-in-days N]   prints the token once
  tokens list
  tokens revoke <id>
  users list                                               admin only, like every users command
  users create <name> --role <role>                        reads the first password (changed at the first login)
  users set-role <name> --role <role>                      ends the user's sessions
  users reset-password <name> [--revoke-tokens]            reads a new password the user must change at the next login;
                                                           --revoke-tokens also revokes every API token of the user
  users delete <name>                                      also revokes the user's API tokens

Options:
  --url <url>      API server (default: $IDRA_API_URL, then the stored login)
  --token <token>  session or API token (default: $IDRA_TOKEN, then the stored login)
  --json           machine-readable output on stdout (errors as JSON on stderr)
  -h, --help

Exit codes: 0 ok · 1 error · 2 usage · 3 not authenticated or not allowed · 4 not found · 5 conflict
  1: invalid or refused document, server error or unreachable · 5: exists already, sync still running, Go Idra still running (migrate)
`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

const OPTIONS = {
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
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Lines typed at a terminal (hidden when `secret`) or read from piped stdin. */
async function ask(io: CliIo, questions: Array<{ prompt: string; secret: boolean }>): Promise<string[]> {
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

const ask1 = async (io: CliIo, prompt: string) => (await ask(io, [{ prompt, secret: false }]))[0]!;

async function readDocument(io: CliIo, file: string | undefined): Promise<unknown> {
  if (!file) throw new UsageError('-f <file> is required (- for stdin)');
  const text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_BAD_FILE', message: `${file} is not valid JSON: ${(err as Error).message}` });
  }
}

const need = (value: string | undefined, what: string): string => {
  if (!value) throw new UsageError(`${what} is required`);
  return value;
};

const ROLES: readonly string[] = ['admin', 'operator', 'viewer'];

function roleFlag(role: string | undefined): Role {
  if (role === undefined || !ROLES.includes(role)) throw new UsageError('--role must be admin, operator or viewer');
  return role as Role;
}

/** Runs one CLI invocation; resolves the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let flags: Flags;
  let args: string[];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    flags = parsed.values;
    args = parsed.positionals;
  } catch (err) {
    io.stderr.write(`idra: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (flags.help || args.length === 0) {
    (flags.help ? io.stdout : io.stderr).write(USAGE);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const out = (text: string, data: unknown) => io.stdout.write(flags.json ? json(data) : text);
  try {
    await dispatch(args, flags, io, out);
    return EXIT.ok;
  } catch (err) {
    const code = exitCodeOf(err);
    if (flags.json) {
      const body = err instanceof IdraApiError ? { code: err.code, message: err.message, status: err.status, details: err.details } : { code: code === EXIT.usage ? 'IDRA_ERR_CLI_USAGE' : 'IDRA_ERR_CLI', message: (err as Error).message };
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

async function client(flags: Flags, io: CliIo): Promise<IdraClient> {
  const stored = await loadCredentials(io.env);
  const baseUrl = flags.url ?? io.env.IDRA_API_URL ?? stored?.url;
  if (!baseUrl) throw new UsageError('no API server: give --url, set IDRA_API_URL, or run idra login');
  const token = flags.token ?? io.env.IDRA_TOKEN ?? (stored && (!flags.url || flags.url === stored.url) ? stored.token : undefined);
  return new IdraClient({ baseUrl, token });
}

async function dispatch(args: string[], flags: Flags, io: CliIo, out: (text: string, data: unknown) => void): Promise<void> {
  const [group, action, ...rest] = args;
  const id = () => need(rest[0], `<id> (idra ${group} ${action} <id>)`);

  if (group === 'login') {
    const baseUrl = flags.url ?? io.env.IDRA_API_URL ?? (await loadCredentials(io.env))?.url;
    if (!baseUrl) throw new UsageError('--url is required (or set IDRA_API_URL)');
    const api = new IdraClient({ baseUrl });
    if (flags.token) {
      api.token = flags.token;
      const me = await api.auth.me();
      const file = await saveCredentials(io.env, { url: baseUrl, token: flags.token, user: me.name });
      return out(`logged in to ${baseUrl} as ${me.name} (${me.role}, ${me.via}); credentials in ${file}\n`, { url: baseUrl, user: me, credentials: file });
    }
    const username = flags.username ?? (await ask(io, [{ prompt: 'user: ', secret: false }]))[0]!;
    const [password] = flags['password-stdin'] ? [(await readAll(io.stdin)).replace(/\r?\n$/, '')] : await ask(io, [{ prompt: 'password: ', secret: true }]);
    const r = await api.auth.login(username, password!);
    const file = await saveCredentials(io.env, { url: baseUrl, token: r.token, user: r.user.name, expiresAt: r.expiresAt });
    if (r.mustChangePassword && !flags.json) io.stderr.write('idra: the password must be changed before anything else: run idra password\n');
    return out(`logged in to ${baseUrl} as ${r.user.name} (${r.user.role}) until ${r.expiresAt}; credentials in ${file}\n`, { url: baseUrl, user: r.user, expiresAt: r.expiresAt, mustChangePassword: r.mustChangePassword, credentials: file });
  }
  if (group === 'logout') {
    const api = await client(flags, io).catch(() => undefined);
    await api?.auth.logout().catch(() => {});
    await removeCredentials(io.env);
    return out('logged out\n', { loggedOut: true });
  }

  const api = await client(flags, io);
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'whoami': {
      const me = await api.auth.me();
      return out(`${me.name} (${me.role}, ${me.via}${me.tokenId ? ` ${me.tokenId}` : ''})\n`, me);
    }
    case 'password': {
      const [current, next] = await ask(io, [
        { prompt: 'current password: ', secret: true },
        { prompt: 'new password: ', secret: true },
      ]);
      const r = await api.auth.changePassword(current!, next!);
      const stored = await loadCredentials(io.env);
      if (stored && stored.url === api.baseUrl) await saveCredentials(io.env, { ...stored, token: r.token, expiresAt: r.expiresAt });
      return out('password changed\n', { changed: true, user: r.user });
    }
    case 'syncs list': {
      const rows = await api.overview();
      return out(table(['ID', 'HEALTH', 'AGENT', 'ROWS', 'LAG', 'DEAD LETTERS', 'WHY'], syncRows(rows)), rows);
    }
    case 'syncs status': {
      const syncId = id();
      const [row, history] = await Promise.all([api.overview().then((all) => all.find((o) => o.id === syncId)), api.syncs.activity(syncId, { range: '1h' })]);
      if (!row) throw new IdraApiError(404, { code: 'IDRA_ERR_SYNC_NOT_FOUND', message: `sync '${syncId}' does not exist` });
      return out(describeSyncStatus(row, history), { ...row, activity: history });
    }
    case 'syncs bulk': {
      const source = need(flags.source, '--source');
      const destination = need(flags.destination, '--destination');
      const mode = (flags.mode ?? 'id') as BulkSettings['mode'];
      if (!['id', 'timestamp', 'full'].includes(mode)) throw new UsageError('--mode must be id, timestamp or full');
      if (flags['write-mode'] !== undefined && !['insert', 'upsert'].includes(flags['write-mode'])) throw new UsageError('--write-mode must be insert or upsert');
      if (!flags.all && !flags.tables) throw new UsageError('give --tables a,b or --all');
      const [src, dst, listing] = await Promise.all([api.dataSources.get(source), api.dataSources.get(destination), api.dataSources.tables(source)]);
      if (!listing.ok) throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_TABLES', message: `cannot list the tables of ${source}: ${listing.error}` });
      const wanted = flags.tables?.split(',').map((t) => t.trim()).filter(Boolean);
      const missing = (wanted ?? []).filter((t) => !listing.tables.some((x) => x.name === t));
      if (missing.length > 0) throw new UsageError(`no table ${missing.join(', ')} in data source ${source}`);
      const plan = planBulkSyncs(wanted ? listing.tables.filter((t) => wanted.includes(t.name)) : listing.tables, {
        idPrefix: flags['id-prefix'] ?? `${source}-`,
        sourceDataSourceId: src.id,
        sourceConnector: src.connector,
        destinationDataSourceId: dst.id,
        destinationConnector: dst.connector,
        tablePrefix: flags['table-prefix'],
        mode,
        writeMode: flags['write-mode'] as BulkSettings['writeMode'],
        enabled: !flags.paused,
      });
      const text = table(['TABLE', 'SYNC ID', 'KEY', 'CURSOR', 'TO REVIEW'], plan.map((p) => [p.table, p.config.id, p.detected.keyColumns.join(','), p.detected.cursorColumn, p.detected.problem]));
      if (flags['dry-run']) return out(text, plan);
      const r = await api.syncs.bulkCreate(plan.map((p) => p.config), { reason: flags.reason });
      return out(`${text}created ${r.created.length} sync(s)${flags.paused ? ', paused' : ''}\n`, r);
    }
    case 'syncs retry': {
      const r = await api.syncs.retry(id());
      return out(`retry of ${rest[0]} requested${r.runningOn ? ` (agent ${r.runningOn})` : ' (no agent holds it now: it runs when one takes it)'}\n`, r);
    }
    case 'syncs check': {
      // A stored sync comes back masked: the server puts its secrets back.
      const doc = flags.file ? await readDocument(io, flags.file) : await api.syncs.get(id());
      const r = await api.syncs.check(doc);
      if (!r.ok) {
        if (flags.json) io.stdout.write(json(r));
        throw new Error(r.problem ? `configuration problem (${r.problem.code}): ${r.problem.message}` : `cannot connect to the source: ${r.error}`);
      }
      return out(`sync ${String((doc as { id?: unknown }).id)}: an agent would read its source${r.warning ? `; warning: ${r.warning}` : ''}\n`, r);
    }
    case 'syncs get': {
      const sync = await api.syncs.get(id());
      return io.stdout.write(json(sync)) as unknown as void;
    }
    case 'syncs delete':
      await api.syncs.delete(id(), { reason: flags.reason });
      return out(`deleted sync ${rest[0]}\n`, { deleted: rest[0] });
    case 'syncs pause': {
      const s = await api.syncs.pause(id(), { wait: flags.wait, reason: flags.reason });
      return out(`paused sync ${s.id}${flags.wait ? ' (its agent has stopped)' : ''}\n`, s);
    }
    case 'syncs resume': {
      const s = await api.syncs.resume(id(), { reason: flags.reason });
      return out(`resumed sync ${s.id}\n`, s);
    }
    case 'syncs history': {
      const h = await api.syncs.history(id());
      return out(historyText(h), h);
    }
    case 'syncs export': {
      const doc = await api.request('GET', '/export', undefined, { ids: rest.length > 0 ? rest.join(',') : undefined });
      if (flags.output) {
        await writeFile(flags.output, json(doc));
        return out(`exported to ${flags.output}\n`, { file: flags.output });
      }
      return io.stdout.write(json(doc)) as unknown as void;
    }
    case 'import':
    case 'syncs import': {
      const r = await api.import(await readDocument(io, flags.file), { overwrite: flags.overwrite, dryRun: flags['dry-run'], skipRefused: flags['skip-refused'] });
      return out(`${r.report ? reportText(r.report) : ''}${importSummary(r)}`, r);
    }
    case 'migrate': {
      const m = await migrate(api, { goEtcd: flags['go-etcd'], goEtcdUser: flags['go-etcd-user'], timeZone: flags['time-zone'], dryRun: Boolean(flags['dry-run']), paused: Boolean(flags.paused), overwrite: Boolean(flags.overwrite), skipRefused: Boolean(flags['skip-refused']) }, io.env, (t) => io.stderr.write(t));
      out(`${reportText(m.result.report)}${m.result.unusedOffsets.length ? `Go offsets no sync claimed (not imported): ${m.result.unusedOffsets.map((k) => `/offsets/${k}`).join(', ')}\n` : ''}\n${migrationPlan(m.snapshot, m.result, Boolean(flags.paused))}\n${m.blocked ? '' : importSummary(m.result)}`, { ...m.result, goIdra: { agents: m.snapshot.agents, locks: m.snapshot.locks, revision: m.snapshot.revision } });
      if (m.blocked) throw goIdraRunning(m.snapshot);
      return;
    }
    case 'syncs apply': {
      const doc = await readDocument(io, flags.file);
      const file = (Array.isArray(doc) ? { syncs: doc } : typeof doc === 'object' && doc !== null && 'syncs' in doc ? doc : { syncs: [doc] }) as { syncs: SyncConfig[]; dataSources?: Parameters<IdraClient['dataSources']['put']>[0][] };
      if (file.syncs.some((s) => typeof s !== 'object' || s === null || !('id' in s))) {
        throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_BAD_FILE', message: 'every sync needs an id (for an original Go Idra export use idra syncs import)' });
      }
      const applied = { dataSources: [] as string[], syncs: [] as string[] };
      const opts = changeOptions(flags);
      const ask = io.stdin.isTTY ? async (prompt: string) => (await ask1(io, prompt)) : undefined;
      const warn = (t: string) => io.stderr.write(t);
      for (const ds of file.dataSources ?? []) applied.dataSources.push((await withOffsetDecision((o) => api.dataSources.put(ds, o), opts, ds.id, ask, warn)).id);
      for (const s of file.syncs) applied.syncs.push((await withOffsetDecision((o) => api.syncs.put(s, o), opts, s.id, ask, warn)).id);
      return out(`applied ${applied.dataSources.map((d) => `data source ${d}`).concat(applied.syncs.map((s) => `sync ${s}`)).join(', ')}\n`, applied);
    }
    case 'offsets get': {
      const v = await api.offsets.get(id());
      const o = v.offset;
      const text = o
        ? `${v.syncId}: ${o.kind} ${JSON.stringify(o.value)}${o.kind === 'timestamp' ? ` tiebreaker ${JSON.stringify(o.tiebreaker)}` : ''} (committed ${o.committedAt} by ${o.agentId})`
        : `${v.syncId}: no offset (starts from the beginning)`;
      return out(`${text}; ${v.enabled ? 'enabled' : 'paused'}${v.runningOn ? `, running on ${v.runningOn}` : ''}\n`, v);
    }
    case 'offsets set': {
      const syncId = id();
      const reason = need(flags.reason, '--reason');
      let position: Position | null;
      // Loaded here only: core takes seconds to load, which every other command would pay.
      const { ConfigError, manualPosition } = await import('@idra/core');
      try {
        position = manualPosition((await api.syncs.get(syncId)).mode, flags);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
        throw err;
      }
      const v = await api.offsets.set(syncId, { position, reason });
      return out(`offset of ${syncId} set to ${v.offset ? JSON.stringify(v.offset.value) : 'nothing (starts over)'}\n`, v);
    }
    case 'offsets history': {
      const h = await api.offsets.history(id());
      return out(table(['AT', 'BY', 'OLD', 'NEW', 'REASON'], h.map((c) => [c.at, c.by, c.old ? JSON.stringify(c.old.value) : null, c.new ? JSON.stringify(c.new.value) : null, c.reason])), h);
    }
    case 'agents list':
    case 'agents': {
      const agents = await api.agents();
      return out(table(['AGENT', 'LEADER', 'HOST', 'PID', 'VERSION', 'STARTED', 'SYNCS'], agents.map((a) => [a.agentId, a.leader ? 'yes' : '', a.host, a.pid, a.version, a.startedAt, a.syncs.join(',')])), agents);
    }
    case 'status': {
      const list = await api.statuses();
      return out(
        table(['SYNC', 'STATE', 'AGENT', 'ROWS', 'SKIPPED', 'LAG', 'UPDATED', 'LAST ERROR'], list.map((s) => [s.syncId, stateText(s), s.agentId, s.rowsCopied, s.rowsSkipped, lagText(s.lag), s.updatedAt, s.lastError?.message.slice(0, 60)])),
        list,
      );
    }
    case `status ${action}`: {
      const s = await api.syncs.status(action!);
      return out(statusText(s), s);
    }
    case 'tokens create': {
      const role = flags.role === undefined ? undefined : roleFlag(flags.role);
      const days = flags['expires-in-days'] === undefined ? undefined : Number(flags['expires-in-days']);
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new UsageError('--expires-in-days must be a positive integer');
      const t = await api.tokens.create({ name: need(flags.name, '--name'), ...(role ? { role } : {}), ...(days ? { expiresInDays: days } : {}) });
      if (!flags.json) io.stderr.write(`idra: token ${t.id} (${t.role}) created; it is shown only this once\n`);
      return out(`${t.token}\n`, t);
    }
    case 'tokens list': {
      const list = await api.tokens.list();
      return out(table(['ID', 'NAME', 'ROLE', 'OWNER', 'CREATED', 'LAST USED', 'EXPIRES'], list.map((t) => [t.id, t.name, t.role, t.owner, t.createdAt, t.lastUsedAt, t.expiresAt])), list);
    }
    case 'tokens revoke':
      await api.tokens.revoke(id());
      return out(`revoked token ${rest[0]}\n`, { revoked: rest[0] });
    case 'users list': {
      const list = await api.users.list();
      return out(table(['NAME', 'ROLE', 'PASSWORD', 'CREATED'], list.map((u) => [u.name, u.role, u.mustChangePassword ? 'to change' : 'set', u.createdAt])), list);
    }
    case 'users create': {
      const [password] = await ask(io, [{ prompt: 'first password: ', secret: true }]);
      const u = await api.users.create({ name: id(), password: password!, role: roleFlag(flags.role), mustChangePassword: true });
      return out(`created ${u.role} ${u.name}; they choose their own password at the first login\n`, u);
    }
    case 'users set-role': {
      const u = await api.users.update(id(), { role: roleFlag(flags.role) });
      return out(`${u.name} is now ${u.role}; their sessions ended\n`, u);
    }
    case 'users reset-password': {
      const [password] = await ask(io, [{ prompt: 'new password: ', secret: true }]);
      const revokeTokens = flags['revoke-tokens'] === true;
      const u = await api.users.update(id(), { password: password!, mustChangePassword: true, ...(revokeTokens ? { revokeTokens } : {}) });
      return out(`password of ${u.name} reset (to be changed at the next login); their sessions ended${revokeTokens ? ' and their API tokens are revoked' : ''}\n`, { ...u, tokensRevoked: revokeTokens });
    }
    case 'users delete':
      await api.users.delete(id());
      return out(`deleted user ${rest[0]}; their API tokens are revoked\n`, { deleted: rest[0] });
    default:
      throw new UsageError(`unknown command: ${args.join(' ')}`);
  }
}
