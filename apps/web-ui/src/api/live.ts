import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { SyncStatus } from '@idra/api-client';
import { useClient } from './client-context.tsx';
import { keys } from './queries.ts';
import { isUnauthorized } from './errors.ts';
import { useSession } from './session.tsx';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

const RETRY_MS = 3_000;
/** Lists are refetched at most this often however many events arrive. */
const REFRESH_MS = 1_000;

/**
 * Follows `/api/v1/events` while logged in: statuses go straight into the cache and the sample
 * history; agent and assignment changes refresh the lists that show them. Reconnects after errors.
 */
export function useLiveEvents(): LiveState {
  const client = useClient();
  const queryClient = useQueryClient();
  const { expire } = useSession();
  const [state, setState] = useState<LiveState>('connecting');

  useEffect(() => {
    const abort = new AbortController();
    const stale = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refreshSoon = (...lists: string[]) => {
      for (const l of lists) stale.add(l);
      timer ??= setTimeout(() => {
        timer = undefined;
        for (const l of stale) void queryClient.invalidateQueries({ queryKey: [l] });
        stale.clear();
      }, REFRESH_MS);
    };
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          await client.events((e) => {
            setState('live');
            if (e.kind === 'status') {
              if (e.type === 'put' && e.value) {
                const status = e.value as SyncStatus;
                queryClient.setQueryData(keys.status(e.id), status);
              }
              refreshSoon(keys.overview[0]);
            } else if (e.kind === 'agent') refreshSoon(keys.agents[0], keys.overview[0]);
            else if (e.kind === 'assignment') refreshSoon(keys.assignments[0], keys.agents[0], keys.overview[0]);
          }, abort.signal);
        } catch (err) {
          if (abort.signal.aborted) return;
          if (isUnauthorized(err)) return expire(`Your session has ended (${err.message}). Please log in again.`);
        }
        if (abort.signal.aborted) return;
        setState('reconnecting');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [client, queryClient, expire]);
  return state;
}
