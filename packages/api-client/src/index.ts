// Typed client of the Idra REST API. Browser-safe: fetch only, no node: imports, core types only.
export { IdraClient, IdraApiError, type IdraClientOptions } from './client.ts';
export * from './types.ts';
