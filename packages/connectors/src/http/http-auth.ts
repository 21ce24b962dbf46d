import { httpRequest, type HttpRetries, type TokenSource } from './http-client.ts';
import type { HttpConfig } from './http-options.ts';

/** Where OAuth2 client-credentials tokens come from: the token endpoint and the client's credentials (the secret sealed in the connection). */
export interface ClientCredentialsGrant {
  tokenUrl: URL;
  clientId: string;
  clientSecret: string;
  scope: string | undefined;
}

// A token is renewed this long before it expires, so a request never leaves with one about to lapse.
const RENEW_BEFORE_MS = 30_000;

/**
 * Bearer tokens of the OAuth2 client-credentials grant (RFC 6749 §4.4): fetched from the token
 * endpoint with the client's id and secret (HTTP Basic, as §2.3.1 prefers), kept until shortly before
 * they expire, fetched again when a request is refused with 401. Tokens are never logged or stored.
 */
export class ClientCredentials implements TokenSource {
  private readonly grant: ClientCredentialsGrant;
  private readonly retries: HttpRetries;
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(grant: ClientCredentialsGrant, retries: HttpRetries) {
    this.grant = grant;
    this.retries = retries;
  }

  /** The Authorization header of the current token, fetched when there is none or it is about to expire. */
  async header(signal: AbortSignal): Promise<Record<string, string>> {
    if (!this.token || Date.now() >= this.token.renewAt) this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
    return { Authorization: `Bearer ${this.token && Date.now() < this.token.renewAt ? this.token.value : await this.pending}` };
  }

  /** The server refused the token (revoked, expired early): the next request fetches another. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(signal: AbortSignal): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope } = this.grant;
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const { text } = await httpRequest(
      this.retries,
      {
        method: 'POST',
        url: tokenUrl,
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      },
      signal,
    );
    let answer: { access_token?: unknown; expires_in?: unknown };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new Error(`POST ${tokenUrl.origin}${tokenUrl.pathname}: the token response is not JSON`);
    }
    if (typeof answer.access_token !== 'string' || answer.access_token === '')
      throw new Error(`POST ${tokenUrl.origin}${tokenUrl.pathname}: the token response has no access_token`);
    // Some servers send the lifetime as a string; without one, an hour (a 401 renews it sooner).
    const seconds = Number(answer.expires_in);
    const lifetimeMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 3_600_000;
    this.token = { value: answer.access_token, renewAt: Date.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) };
    return answer.access_token;
  }
}

/**
 * How an endpoint's requests are made: its config, with the tokens of its OAuth2 grant when it has
 * one (one token shared by all its requests). Token requests carry none of the endpoint's headers.
 */
export function requestSettings(config: HttpConfig): HttpRetries {
  const { timeoutMs, retries, retryBackoffMs } = config;
  return { ...config, tokens: config.oauth2 && new ClientCredentials(config.oauth2, { timeoutMs, retries, retryBackoffMs }) };
}
