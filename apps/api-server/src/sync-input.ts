import { ConfigError, KEYS, normalizeSync, resolvedEndpointIssues, validateSyncConfig, type DataSource, type SyncConfig } from '@idra/core';
import { CONNECTOR_SPECS } from '@idra/connectors';
import { ConflictError } from './errors.ts';
import type { IdraContext } from './context.ts';

/**
 * A sync from a client, ready to store: validated, also against its connectors' contracts (400
 * naming each bad field, e.g. `source.options.fromBeginnig: unknown option`), inline connection
 * masks merged with the stored secrets, data sources resolved (they must exist, with the same
 * connector) and the rules that need them checked (an HTTP url on its connection's origin). `pending` holds data sources written in the same request (an import).
 */
export async function prepareSync(
  ctx: IdraContext,
  input: unknown,
  stored: SyncConfig | undefined,
  pending = new Map<string, DataSource>(),
  base = '',
): Promise<SyncConfig> {
  const config = ctx.secrets.restoreSync(structuredClone(validateSyncConfig(input, base, 'invalid sync', CONNECTOR_SPECS)), stored, base);
  const dataSources = new Map(pending);
  for (const id of [config.source.dataSourceId, config.destination.dataSourceId]) {
    if (id === undefined || dataSources.has(id)) continue;
    const ds = await ctx.configs.getDataSource(id);
    if (ds) dataSources.set(id, ds);
  }
  const sync = normalizeSync(config, (id) => dataSources.get(id), base);
  // Rules that need the connection (a data source's URL), checked with its secrets open, never shown.
  const issues = resolvedEndpointIssues(CONNECTOR_SPECS, { source: ctx.secrets.open(sync.source), destination: ctx.secrets.open(sync.destination) }, base);
  if (issues.length > 0) throw new ConfigError(issues, 'invalid sync');
  return config;
}

/**
 * A stored sync, undefined when there is none. A stored document that no longer validates is not the
 * client's mistake: 409, with its issues, until someone replaces it (PUT) or deletes it.
 */
export async function storedSync(ctx: IdraContext, id: string): Promise<SyncConfig | undefined> {
  try {
    return await ctx.configs.getSync(id);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConflictError(
      'IDRA_ERR_SYNC_STORED_INVALID',
      `the stored document of sync '${id}' no longer validates: replace it (PUT /api/v1/syncs/${id}) or delete it`,
      { issues: err.issues },
    );
  }
}

/** True when `syncs/<id>` exists, valid or not. */
export async function syncExists(ctx: IdraContext, id: string): Promise<boolean> {
  return (await ctx.etcd.ns.get(KEYS.sync(id)).string()) !== null;
}
