import { IdraApiError, type ChangeOptions, type HistoryEntry, type OffsetScopeConflict } from '@idra/api-client';
import { UsageError } from './exit-codes.ts';
import { table } from './output.ts';

const short = (v: unknown) => {
  const text = v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** `idra syncs history <id>`: one line per change, newest first, with what changed. */
export function historyText(entries: HistoryEntry[]): string {
  if (entries.length === 0) return 'no recorded change\n';
  const rows = entries.map((e) => {
    const changed =
      e.action === 'created' || e.action === 'deleted'
        ? `${e.changes.length} field(s)`
        : e.changes.map((c) => `${c.path}: ${short(c.old)} → ${short(c.new)}`).join('; ');
    const offset = e.offset ? `; offset ${e.offset.decision === 'reset' ? 'reset' : 'kept'} (${e.offset.changes.map((c) => c.field).join(', ')} changed)` : '';
    return [e.at, e.by, e.action + (e.via ? ` (${e.via})` : ''), e.reason, `${changed}${offset}`];
  });
  return table(['AT', 'BY', 'ACTION', 'REASON', 'CHANGES'], rows);
}

/** The change options of `--reason`, `--offset` and `--confirm`. */
export function changeOptions(flags: { reason?: string | undefined; offset?: string | undefined; confirm?: string | undefined }): ChangeOptions {
  if (flags.offset !== undefined && flags.offset !== 'reset' && flags.offset !== 'keep') throw new UsageError('--offset must be reset or keep');
  return {
    ...(flags.reason ? { reason: flags.reason } : {}),
    ...(flags.offset ? { offset: flags.offset } : {}),
    ...(flags.confirm ? { confirm: flags.confirm } : {}),
  };
}

/**
 * Runs a change; when it would move a stored offset and `--offset keep` was given without
 * `--confirm`, shows what changes and asks for the sync's id to be typed (a terminal only).
 */
export async function withOffsetDecision<T>(
  change: (opts: ChangeOptions) => Promise<T>,
  opts: ChangeOptions,
  id: string,
  ask: ((prompt: string) => Promise<string>) | undefined,
  warn: (text: string) => void,
): Promise<T> {
  // Keeping needs the id typed: asked once the server has said what changes (a change that moves no offset needs nothing).
  const asking = opts.offset === 'keep' && !opts.confirm;
  try {
    return await change(asking ? { ...opts, offset: undefined } : opts);
  } catch (err) {
    if (!(err instanceof IdraApiError) || err.code !== 'IDRA_ERR_OFFSET_SCOPE_CHANGED') throw err;
    const details = err.details as unknown as OffsetScopeConflict;
    warn(`idra: ${id} has a stored offset (${JSON.stringify(details.offset)}) and this change moves what it points into:\n`);
    for (const c of details.changes) warn(`  ${c.field}: ${c.old} → ${c.new}\n`);
    if (!asking) {
      warn('  choose --offset reset (start over) or --offset keep --confirm <id> (admin; pause the sync first)\n');
      throw err;
    }
    if (!ask) throw new UsageError(`--offset keep needs --confirm ${id} when the input is not a terminal`);
    const typed = (await ask(`type the id (${id}) to keep the offset: `)).trim();
    return change({ ...opts, confirm: typed });
  }
}
