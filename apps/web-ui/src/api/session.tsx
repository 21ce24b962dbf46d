import { createContext, use, useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { IdraClient, LoginResult, Role } from '@idra/api-client';
import { isPasswordChangeRequired, isUnauthorized } from './errors.ts';

/** What is kept in sessionStorage: enough to reopen the page without logging in again. */
export interface Session {
  token: string;
  expiresAt: string;
  name: string;
  role: Role;
  mustChangePassword: boolean;
}

export type SessionState = { status: 'checking' } | { status: 'anonymous'; notice: string | undefined } | { status: 'authenticated'; session: Session };

export interface SessionApi {
  state: SessionState;
  login(username: string, password: string): Promise<void>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  logout(): Promise<void>;
  /** Ends the session on this page and shows `notice` on the login screen. */
  expire(notice: string): void;
}

const STORAGE_KEY = 'idra.session';
/** How often a logged-in page asks who it is: a role change shows, an ended session is noticed on a quiet screen. */
const RECHECK_MS = 30_000;
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

const SessionContext = createContext<SessionApi | null>(null);

function read(storage: Storage): Session | undefined {
  try {
    const s = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && Date.parse(s.expiresAt) > Date.now() ? s : undefined;
  } catch {
    return undefined;
  }
}

function fromLogin(r: LoginResult): Session {
  return { token: r.token, expiresAt: r.expiresAt, name: r.user.name, role: r.user.role, mustChangePassword: r.mustChangePassword };
}

/**
 * Holds the login session: restores it from sessionStorage (checked with `/auth/me`), ends it on
 * any 401 from any query or mutation, at its expiry time, or on logout, and clears cached data then.
 */
export function SessionProvider({ client, storage, children }: { client: IdraClient; storage: Storage; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>(() => {
    const stored = read(storage);
    client.token = stored?.token;
    return stored ? { status: 'checking' } : { status: 'anonymous', notice: undefined };
  });

  const save = useCallback(
    (session: Session) => {
      client.token = session.token;
      storage.setItem(STORAGE_KEY, JSON.stringify(session));
      setState({ status: 'authenticated', session });
    },
    [client, storage],
  );

  /** Starts a new session (login, password change): what /auth/me said for the old one is stale. */
  const begin = useCallback(
    (result: LoginResult) => {
      // Otherwise a "must change the password" answered before the change would undo it.
      queryClient.removeQueries({ queryKey: ['auth', 'me'] });
      save(fromLogin(result));
    },
    [queryClient, save],
  );

  const expire = useCallback(
    (notice: string) => {
      client.token = undefined;
      storage.removeItem(STORAGE_KEY);
      queryClient.clear();
      setState((s) => (s.status === 'anonymous' ? s : { status: 'anonymous', notice }));
    },
    [client, storage, queryClient],
  );

  // A stored session may have ended elsewhere (logout in another tab, password change, role change).
  useEffect(() => {
    if (state.status !== 'checking') return;
    const stored = read(storage);
    if (!stored) return setState({ status: 'anonymous', notice: undefined });
    client.auth.me().then(
      (me) => save({ ...stored, name: me.name, role: me.role, mustChangePassword: me.mustChangePassword }),
      (err: unknown) => {
        if (isUnauthorized(err)) expire(`Your session has ended (${err.message}). Please log in again.`);
        // The API may be down for a moment: keep the session, the screens show the error.
        else save(stored);
      },
    );
  }, [state.status, storage, client, save, expire]);

  useEffect(() => {
    if (state.status !== 'authenticated') return;
    const { session } = state;
    const onError = (err: unknown) => {
      if (isUnauthorized(err)) expire(`Your session has ended (${err.message}). Please log in again.`);
      else if (isPasswordChangeRequired(err) && !session.mustChangePassword) save({ ...session, mustChangePassword: true });
    };
    const offQueries = queryClient.getQueryCache().subscribe((e) => {
      if (e.type === 'updated' && e.action.type === 'error') onError(e.action.error);
    });
    const offMutations = queryClient.getMutationCache().subscribe((e) => {
      if (e.type === 'updated' && e.action.type === 'error') onError(e.action.error);
    });
    const remaining = Date.parse(session.expiresAt) - Date.now();
    // setTimeout holds at most 2^31-1 ms; a longer session is checked again by the next request.
    const timer = remaining < 2 ** 31 - 1 ? setTimeout(() => expire('Your session has expired. Please log in again.'), Math.max(0, remaining)) : undefined;
    return () => {
      offQueries();
      offMutations();
      clearTimeout(timer);
    };
  }, [state, queryClient, expire, save]);

  const authenticated = state.status === 'authenticated' ? state.session : undefined;
  const me = useQuery({ queryKey: ['auth', 'me'], queryFn: () => client.auth.me(), enabled: authenticated !== undefined, refetchInterval: RECHECK_MS });
  useEffect(() => {
    if (authenticated && me.data && (me.data.role !== authenticated.role || me.data.mustChangePassword !== authenticated.mustChangePassword)) {
      save({ ...authenticated, role: me.data.role, mustChangePassword: me.data.mustChangePassword });
    }
  }, [authenticated, me.data, save]);

  const api = useMemo<SessionApi>(
    () => ({
      state,
      expire,
      login: async (username, password) => begin(await client.auth.login(username, password)),
      changePassword: async (currentPassword, newPassword) => begin(await client.auth.changePassword(currentPassword, newPassword)),
      logout: async () => {
        await client.auth.logout().catch(() => undefined);
        expire('You have logged out.');
      },
    }),
    [state, client, begin, expire],
  );
  return <SessionContext value={api}>{children}</SessionContext>;
}

export function useSession(): SessionApi {
  const s = use(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The logged-in user (screens behind the login only). */
export function useUser(): Session {
  const { state } = useSession();
  if (state.status !== 'authenticated') throw new Error('useUser without a session');
  return state.session;
}

/** Whether the logged-in user's role includes `required` (the API enforces it; the UI hides what would be refused). */
export function useCan(required: Role): boolean {
  return RANK[useUser().role] >= RANK[required];
}
