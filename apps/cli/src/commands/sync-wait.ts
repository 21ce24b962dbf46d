import { setTimeout as sleep } from 'node:timers/promises';
import { IdraApiError, type IdraClient, type SyncStatus } from '@idra/api-client';
import { parseDuration } from '@idra/core/model';
import type { Command } from '../command.ts';
import { EXIT, ExitError, UsageError } from '../exit-codes.ts';
import { lagText, statusText } from '../output.ts';

const STATES: ReadonlyArray<SyncStatus['state']> = ['starting', 'waiting', 'running', 'idle', 'retrying', 'failed', 'stopped'];
const UNTIL = ['caught-up', ...STATES];

/** Whether `s` is what `until` waits for: `caught-up` is idle with no row left to read (lag 0 where the source reports one). */
export function reached(until: string, s: SyncStatus): boolean {
  if (until === 'caught-up') return s.state === 'idle' && (s.lag?.rows ?? 0) === 0;
  return s.state === until;
}

/** The status, or undefined while no agent has reported on the sync (a deleted sync stays an error). */
async function statusOf(client: IdraClient, id: string): Promise<SyncStatus | undefined> {
  try {
    return await client.syncs.status(id);
  } catch (err) {
    if (err instanceof IdraApiError && err.code === 'IDRA_ERR_SYNC_STATUS_NOT_FOUND') return undefined;
    throw err;
  }
}

/** When the sync last changed (created, edited, paused, resumed): a status older than that speaks of the configuration before. */
async function changedAt(client: IdraClient, id: string): Promise<number> {
  const last = (await client.syncs.history(id)).find((e) => e.action !== 'updated' || e.changes.length > 0);
  return last ? Date.parse(last.at) : 0;
}

function duration(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`${flag} must be a duration such as 90s, 10m or 500ms`);
  return ms;
}

/** `idra syncs wait <id> --until …`: polls the sync's status until it says so, it cannot (failed, paused), or the timeout. */
export const syncWaitCommand: Command = {
  name: 'syncs wait',
  usage: '<id> --until caught-up|<state> [--timeout 10m] [--interval 2s]',
  help: [`state: ${STATES.join(', ')}; exit 0 reached, 7 timed out,`, '8 failed or paused instead, 4 no such sync (or deleted while waiting)'],
  async run({ flags, out, io, api, id }) {
    const syncId = id();
    const until = flags.until;
    if (until === undefined || !UNTIL.includes(until)) throw new UsageError(`--until must be one of ${UNTIL.join(', ')}`);
    const timeoutMs = duration(flags.timeout, 10 * 60_000, '--timeout');
    const intervalMs = Math.max(100, duration(flags.interval, 2000, '--interval'));
    const client = await api();
    const deadline = Date.now() + timeoutMs;
    const since = await changedAt(client, syncId);
    let said = '';
    for (;;) {
      const [sync, status] = await Promise.all([client.syncs.get(syncId), statusOf(client, syncId)]);
      // What the agent reported before the last change is not an answer: wait for its report on the sync as it is now.
      const current = status && Date.parse(status.updatedAt) >= since ? status : undefined;
      if (current && reached(until, current)) return out(statusText(current), current);
      if (current?.state === 'failed' && until !== 'failed')
        throw new ExitError(
          EXIT.notReached,
          'IDRA_ERR_CLI_WAIT_FAILED',
          `sync ${syncId} failed instead of reaching ${until}: ${current.lastError?.message ?? 'no error given'}`,
        );
      if (sync.enabled === false && until !== 'stopped')
        throw new ExitError(EXIT.notReached, 'IDRA_ERR_CLI_WAIT_PAUSED', `sync ${syncId} is paused: it cannot reach ${until} until it is resumed`);
      const now = current ? `${current.state}, lag ${lagText(current.lag)}` : 'no report from an agent yet';
      if (Date.now() >= deadline)
        throw new ExitError(EXIT.timedOut, 'IDRA_ERR_CLI_WAIT_TIMEOUT', `sync ${syncId} did not reach ${until} within ${flags.timeout ?? '10m'} (now: ${now})`);
      // A person watching sees each change of state; scripts read the exit code (and --json's last status).
      if (!flags.json && now !== said) io.stderr.write(`${syncId}: ${now}\n`);
      said = now;
      await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    }
  },
};
