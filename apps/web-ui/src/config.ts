/** What the UI reads at startup from `config.json`, next to index.html, so one build serves any deployment. */
export interface RuntimeConfig {
  /**
   * Root of the API server, e.g. `https://idra-api.example.com` (the client adds `/api/v1`; a value
   * ending in `/api/v1` is accepted too). Empty: the origin that serves the UI, which proxies `/api/`.
   * @default ""
   */
  apiUrl: string;
}

/** The API root the client is built with: `apiUrl` without a trailing `/api/v1`, or the page's origin. */
export function apiBaseUrl(config: RuntimeConfig, origin: string): string {
  const url = config.apiUrl
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/, '');
  return url === '' ? origin : new URL(url, origin).href.replace(/\/+$/, '');
}

/** Fetches `config.json`; a missing or unreadable file means the defaults. */
export async function loadRuntimeConfig(baseUri: string, fetchFn: typeof fetch = fetch): Promise<RuntimeConfig> {
  try {
    const res = await fetchFn(new URL('config.json', baseUri), { cache: 'no-store' });
    if (!res.ok) return { apiUrl: '' };
    const doc = (await res.json()) as Partial<RuntimeConfig>;
    return { apiUrl: typeof doc.apiUrl === 'string' ? doc.apiUrl : '' };
  } catch {
    return { apiUrl: '' };
  }
}
