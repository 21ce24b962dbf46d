import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { IdraApiError } from '@idra/api-client';
import { useClient } from './client-context.tsx';

/** How often the page asks whether the API server is back. */
const PROBE_MS = 3_000;

/** No answer at all, or a proxy saying the server behind it is gone or overloaded. */
function isUnreachable(err: unknown): boolean {
  return err instanceof IdraApiError && (err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504);
}

/**
 * Since when the API server has not answered (undefined while it does). Any failed request marks it
 * down; then it is probed every few seconds, and the moment it answers every query is fetched again,
 * so that no screen stays on "Could not load".
 */
export function useApiOutage(): Date | undefined {
  const client = useClient();
  const queryClient = useQueryClient();
  const [since, setSince] = useState<Date>();

  useEffect(
    () =>
      queryClient.getQueryCache().subscribe((e) => {
        if (e.type !== 'updated') return;
        if (e.action.type === 'error' && isUnreachable(e.action.error)) setSince((s) => s ?? new Date());
      }),
    [queryClient],
  );

  useEffect(() => {
    if (!since) return;
    let stopped = false;
    const timer = setInterval(() => {
      client.auth.me().then(
        () => {
          if (stopped) return;
          setSince(undefined);
          void queryClient.invalidateQueries();
        },
        (err: unknown) => {
          // Any answer but "unreachable" (even a 401) means the server is back.
          if (!stopped && !isUnreachable(err)) {
            setSince(undefined);
            void queryClient.invalidateQueries();
          }
        },
      );
    }, PROBE_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [since, client, queryClient]);
  return since;
}
