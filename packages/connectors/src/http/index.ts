import type { Connector } from '@idra/core';
import { checkHttp, discoverHttp } from './http-probe.ts';
import { HttpDestination } from './http-destination.ts';
import { HttpSource } from './http-source.ts';

export { HttpSource, type HttpOffset } from './http-source.ts';
export { HttpDestination, idempotencyKey } from './http-destination.ts';
export { resolveHttpConfig, type HttpConfig } from './http-options.ts';

/** JSON HTTP APIs: a source paging by a cursor parameter (`stream` mode), a destination POSTing batches. */
export const httpConnector: Connector = {
  openSource: (ctx) => HttpSource.open(ctx),
  openDestination: (ctx) => HttpDestination.open(ctx),
  check: checkHttp,
  discover: discoverHttp,
};
