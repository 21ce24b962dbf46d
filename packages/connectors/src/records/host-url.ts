import type { Connection } from '@idra/core';

/** `http(s)://host[:port]` of a connection given by `host`/`port`/`ssl` (TLS unless `ssl` is false); undefined without a host. */
export function hostUrl(c: Connection): string | undefined {
  return c.host ? `${c.ssl === false ? 'http' : 'https'}://${c.host}${c.port ? `:${c.port}` : ''}` : undefined;
}
