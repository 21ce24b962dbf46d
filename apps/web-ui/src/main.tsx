import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { IdraApiError, IdraClient } from '@idra/api-client';
import { apiBaseUrl, loadRuntimeConfig } from './config.ts';
import { ClientContext } from './api/client-context.tsx';
import { SessionProvider } from './api/session.tsx';
import { NotifyProvider } from './components/Notify.tsx';
import { App } from './App.tsx';
import './styles.css';

const config = await loadRuntimeConfig(document.baseURI);
const client = new IdraClient({ baseUrl: apiBaseUrl(config, window.location.origin) });
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refused request (4xx) will be refused again: only transport and server errors are retried.
      retry: (count, err) => count < 2 && !(err instanceof IdraApiError && err.status >= 400 && err.status < 500),
      staleTime: 2_000,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ClientContext value={client}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider client={client} storage={sessionStorage}>
          <NotifyProvider>
            <BrowserRouter>
              <App />
            </BrowserRouter>
          </NotifyProvider>
        </SessionProvider>
      </QueryClientProvider>
    </ClientContext>
  </StrictMode>,
);
