import { createContext, use } from 'react';
import type { IdraClient } from '@idra/api-client';

export const ClientContext = createContext<IdraClient | null>(null);

/** The API client of this page (one per page; its token follows the session). */
export function useClient(): IdraClient {
  const client = use(ClientContext);
  if (!client) throw new Error('useClient outside ClientContext');
  return client;
}
