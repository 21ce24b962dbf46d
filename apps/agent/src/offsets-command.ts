import { parseArgs } from 'node:util';
import { hostname, userInfo } from 'node:os';
import {
  ConfigError,
  FileOffsetStore,
  describePosition,
  describeScopeChanges,
  errorMessage,
  manualPosition,
  offsetScopeOf,
  positionOf,
  scopeChanges,
  type Position,
} from '@idra/core';
import { loadConfigFile } from './config-file.ts';
import { lockStateDir } from './state-dir-lock.ts';

const OFFSETS_USAGE = `Usage: idra-agent offsets <get|history|set> <sync-id> --config <file> [--state-dir <dir>]

Single mode: reads or changes the offset a sync resumes from, in <state-dir>/offsets/ (never edit
those files by hand). A change is refused while an agent runs on the state dir; it is recorded with
who, when, the old and new position and the reason (offsets history).

  get <id>                                   the stored offset, and whether it still fits the sync
  history <id>                               every change made by hand, oldest first
  set <id> --reason <text> --value <v> [--tiebreaker <t>]   id / timestamp modes
  set <id> --reason <text> --position <json> any mode, e.g. '{"kind":"stream","value":{"0":"42"}}'
  set <id> --reason <text> --reset           start over (the next run copies from the beginning)
  set <id> --reason <text> --keep            keep the position after a change of what the sync reads
                                             (table, query, cursor, tiebreaker, key or mode)

Options: --config <file> [IDRA_CONFIG] · --state-dir <dir> (default .idra) [IDRA_STATE_DIR] · --by <name>
(default: the OS user) · --json · -h
Exit codes: 0 done · 1 error (an agent runs on the state dir; unreadable files) · 2 usage, invalid
configuration or unknown sync
`;

interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** `idra-agent offsets …`: resolves the exit code. */
export async function offsetsCommand(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        'state-dir': { type: 'string' },
        reason: { type: 'string' },
        value: { type: 'string' },
        tiebreaker: { type: 'string' },
        position: { type: 'string' },
        reset: { type: 'boolean' },
        keep: { type: 'boolean' },
        by: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr.write(`idra-agent offsets: ${errorMessage(err)}\n\n${OFFSETS_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(OFFSETS_USAGE);
    return 0;
  }
  const [action, syncId] = positionals;
  const config = values.config ?? env.IDRA_CONFIG;
  const usage = (message: string) => {
    io.stderr.write(`idra-agent offsets: ${message}\n\n${OFFSETS_USAGE}`);
    return 2;
  };
  if (!action || !['get', 'history', 'set'].includes(action) || !syncId || positionals.length > 2) return usage('give get, history or set, and a sync id');
  if (!config) return usage('--config is required: the syncs file the agent runs');
  const stateDir = values['state-dir'] ?? env.IDRA_STATE_DIR ?? '.idra';
  const out = (text: string, data: unknown) => io.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : text);
  try {
    const sync = (await loadConfigFile(config)).syncs.find((s) => s.id === syncId);
    if (!sync) throw new ConfigError([{ path: '<sync-id>', message: `no sync '${syncId}' in ${config}` }]);
    const store = new FileOffsetStore(stateDir);
    const scope = offsetScopeOf(sync);
    if (action === 'history') {
      const history = await store.history(syncId);
      out(
        history.map((h) => `${h.at}  ${h.by}  ${describePosition(h.old)} → ${describePosition(h.new)}  ${h.reason}\n`).join('') || 'no change made by hand\n',
        history,
      );
      return 0;
    }
    if (action === 'get') {
      const stored = await store.load(syncId);
      const changes = stored?.scope ? scopeChanges(stored.scope, scope) : [];
      const fit =
        changes.length > 0
          ? `; committed for another ${changes.map((c) => c.field).join(', ')} (${describeScopeChanges(changes)}): the sync will not resume until it is reset or kept (set --reset / --keep)`
          : '';
      out(
        stored
          ? `${syncId}: ${describePosition(positionOf(stored))} (committed ${stored.committedAt} by ${stored.agentId})${fit}\n`
          : `${syncId}: no offset (starts from the beginning)\n`,
        { syncId, offset: stored ?? null, changes },
      );
      return 0;
    }
    const reason = values.reason;
    if (!reason || reason.trim().length < 3) return usage('--reason <text> is required (at least 3 characters): it is kept in the history');
    let position: Position | null;
    if (values.keep) {
      if (values.value !== undefined || values.position !== undefined || values.reset) return usage('--keep takes no --value, --position or --reset');
      const stored = await store.load(syncId);
      if (!stored) throw new ConfigError([{ path: '--keep', message: `sync '${syncId}' has no offset to keep` }]);
      position = positionOf(stored);
    } else {
      position = manualPosition(sync.mode, values);
    }
    // Taken for the change only: refused while an agent runs on the dir (it would overwrite the change).
    const lock = await lockStateDir(stateDir, `idra-agent-offsets-${process.pid}`);
    try {
      const by = `${values.by ?? `${userInfo().username}@${hostname()}`} (idra-agent offsets)`;
      await store.set(syncId, position, { by, reason: values.keep ? `kept for the sync as it is now: ${reason}` : reason, scope });
    } finally {
      lock.release();
    }
    out(`offset of ${syncId} ${position ? `set to ${describePosition(position)}` : 'reset (starts from the beginning)'}; recorded in its history\n`, {
      syncId,
      position,
    });
    return 0;
  } catch (err) {
    io.stderr.write(`idra-agent offsets: ${errorMessage(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
