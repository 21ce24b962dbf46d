import { IdraApiError, type DataSource, type IdraClient, type SyncConfig } from '@idra/api-client';
import { ask, readDocument, type CommandContext } from './command.ts';
import { EXIT, ExitError, UsageError } from './exit-codes.ts';
import { changeOptions, withOffsetDecision } from './history.ts';

/** What `syncs apply` and `datasources apply` do to each object, decided before anything is written. */
export interface ApplyPlan {
  create: { dataSources: string[]; syncs: string[] };
  replace: { dataSources: string[]; syncs: string[] };
  /** With --prune: stored objects the file does not name. */
  delete: { dataSources: string[]; syncs: string[] };
}

type Kind = keyof ApplyPlan['create'];
const KINDS: Kind[] = ['dataSources', 'syncs'];
const NOUN: Record<Kind, string> = { dataSources: 'data source', syncs: 'sync' };

/**
 * The objects of an apply file: `{ dataSources?, syncs? }`, an array or one object of `kind`. Each
 * needs an id; an id twice would make the result depend on the order.
 */
export function applyFile(doc: unknown, kind: Kind): { dataSources: DataSource[]; syncs: SyncConfig[] } {
  const bad = (message: string) => new IdraApiError(0, { code: 'IDRA_ERR_CLI_BAD_FILE', message });
  const wrapped =
    typeof doc === 'object' && doc !== null && !Array.isArray(doc) && ('syncs' in doc || 'dataSources' in doc)
      ? (doc as Record<string, unknown>)
      : { [kind]: Array.isArray(doc) ? doc : [doc] };
  const file = { dataSources: wrapped.dataSources ?? [], syncs: wrapped.syncs ?? [] };
  if (kind === 'dataSources' && Array.isArray(file.syncs) && file.syncs.length > 0)
    throw bad('this file has syncs: apply it with idra syncs apply (datasources apply takes data sources only)');
  for (const k of KINDS) {
    const list: unknown = file[k];
    if (!Array.isArray(list)) throw bad(`${k} must be an array`);
    const seen = new Set<string>();
    for (const [i, o] of list.entries()) {
      const id = typeof o === 'object' && o !== null ? (o as { id?: unknown }).id : undefined;
      if (typeof id !== 'string' || id === '')
        throw bad(`${k}[${i}]: every ${NOUN[k]} needs an id${k === 'syncs' ? ' (for an original Go Idra export use idra import)' : ''}`);
      if (seen.has(id)) throw bad(`${k}[${i}]: ${NOUN[k]} '${id}' appears twice in the file`);
      seen.add(id);
    }
  }
  return file as { dataSources: DataSource[]; syncs: SyncConfig[] };
}

/** Which objects of the file exist (replaced) or not (created), and with `prune` which stored ones the file leaves out. */
async function planApply(client: IdraClient, file: ReturnType<typeof applyFile>, kind: Kind, prune: boolean): Promise<ApplyPlan> {
  const [dataSources, syncList] = await Promise.all([client.dataSources.list(), client.syncs.list()]);
  const stored: Record<Kind, string[]> = {
    dataSources: dataSources.map((d) => d.id),
    syncs: [...syncList.syncs.map((s) => s.id), ...syncList.invalid.map((s) => s.id)],
  };
  const plan: ApplyPlan = { create: { dataSources: [], syncs: [] }, replace: { dataSources: [], syncs: [] }, delete: { dataSources: [], syncs: [] } };
  for (const k of KINDS) for (const o of file[k]) (stored[k].includes(o.id) ? plan.replace : plan.create)[k].push(o.id);
  if (!prune) return plan;
  const named = (k: Kind) => new Set(file[k].map((o) => o.id));
  if (kind === 'syncs') plan.delete.syncs = stored.syncs.filter((id) => !named('syncs').has(id));
  // A data source a remaining sync uses stays: the server would refuse to delete it.
  const kept = syncList.syncs.filter((s) => !plan.delete.syncs.includes(s.id));
  const used = new Set([...kept, ...file.syncs].flatMap((s) => [s.source?.dataSourceId, s.destination?.dataSourceId]));
  plan.delete.dataSources = stored.dataSources.filter((id) => !named('dataSources').has(id) && !used.has(id));
  return plan;
}

/** One line per object: `create sync orders` (what will be done), or `created sync orders` (what was done). */
export function planText(plan: ApplyPlan, done = false): string {
  const verbs = [
    [done ? 'created' : 'create', plan.create],
    [done ? 'replaced' : 'replace', plan.replace],
    [done ? 'deleted' : 'delete', plan.delete],
  ] as const;
  const lines = verbs.flatMap(([verb, ids]) => KINDS.flatMap((k) => ids[k].map((id) => `${verb} ${NOUN[k]} ${id}`)));
  return lines.length === 0 ? 'nothing to apply\n' : `${lines.join('\n')}\n`;
}

/** The most syncs `POST /syncs/bulk` takes in one request. */
const BULK_LIMIT = 1000;

/**
 * Creates the new syncs in bulk requests (all of a request or none; 1,000 syncs in seconds, not one
 * request each); the problems a request names point into the file, not into the request.
 */
async function createSyncs(client: IdraClient, file: SyncConfig[], ids: string[], put: (s: SyncConfig) => Promise<unknown>, reason?: string): Promise<void> {
  const fresh = file.filter((s) => ids.includes(s.id));
  for (let i = 0; i < fresh.length; i += BULK_LIMIT) {
    const chunk = fresh.slice(i, i + BULK_LIMIT);
    try {
      await client.syncs.bulkCreate(chunk, { reason });
    } catch (err) {
      if (!(err instanceof IdraApiError)) throw err;
      // A new id with an offset left by a deleted sync of that id needs its own decision (the bulk request created none).
      if (err.code === 'IDRA_ERR_OFFSET_SCOPE_CHANGED') {
        for (const s of chunk) await put(s);
        continue;
      }
      for (const issue of err.details?.issues ?? [])
        issue.path = issue.path.replace(/^syncs\[(\d+)\]/, (_, n: string) => `syncs[${file.indexOf(chunk[Number(n)]!)}]`);
      throw err;
    }
  }
}

/**
 * `syncs apply` / `datasources apply`: create or replace every object of the file (data sources
 * first), then with --prune delete the stored ones it leaves out (syncs first). --no-replace refuses
 * the whole file (exit 5) when any of its objects exists; --dry-run prints the plan and writes nothing.
 * New syncs are created in bulk requests (each all or none), replaced ones one by one with their offset decision.
 */
export async function apply(ctx: CommandContext, kind: Kind): Promise<void> {
  const { flags, io, out } = ctx;
  if (flags.prune && flags['no-replace']) throw new UsageError('--prune and --no-replace do not go together');
  const file = applyFile(await readDocument(io, flags.file), kind);
  const client = await ctx.api();
  const plan = await planApply(client, file, kind, flags.prune === true);
  const existing = KINDS.flatMap((k) => plan.replace[k].map((id) => `${NOUN[k]} ${id}`));
  if (flags['no-replace'] && existing.length > 0)
    throw new ExitError(EXIT.conflict, 'IDRA_ERR_CLI_EXISTS', `--no-replace: ${existing.join(', ')} already exist(s); nothing was applied`);
  if (flags['dry-run']) return out(planText(plan), { dryRun: true, ...plan });
  const deleting = plan.delete.dataSources.length + plan.delete.syncs.length;
  if (deleting > 0) {
    // Pruning deletes what the file does not name: the list is shown first, and confirmed.
    io.stderr.write(`--prune deletes:\n${planText({ ...plan, create: { dataSources: [], syncs: [] }, replace: { dataSources: [], syncs: [] } })}`);
    if (!flags.yes) {
      if (!io.stdin.isTTY) throw new UsageError('--prune deletes the objects listed above: add --yes (or review them first with --dry-run)');
      const [answer] = await ask(io, [{ prompt: `delete these ${deleting}? [y/N] `, secret: false }]);
      if (!/^y(es)?$/i.test(answer!.trim())) throw new ExitError(EXIT.error, 'IDRA_ERR_CLI_ABORTED', 'nothing was applied');
    }
  }
  const opts = changeOptions(flags);
  const confirm = io.stdin.isTTY ? async (prompt: string) => (await ask(io, [{ prompt, secret: false }]))[0]! : undefined;
  const warn = (t: string) => io.stderr.write(t);
  for (const ds of file.dataSources) await withOffsetDecision((o) => client.dataSources.put(ds, o), opts, ds.id, confirm, warn);
  const put = (s: SyncConfig) => withOffsetDecision((o) => client.syncs.put(s, o), opts, s.id, confirm, warn);
  await createSyncs(client, file.syncs, plan.create.syncs, put, opts.reason);
  for (const s of file.syncs.filter((x) => plan.replace.syncs.includes(x.id))) await put(s);
  for (const id of plan.delete.syncs) await client.syncs.delete(id, opts);
  for (const id of plan.delete.dataSources) await client.dataSources.delete(id, opts);
  out(planText(plan, true), plan);
}
