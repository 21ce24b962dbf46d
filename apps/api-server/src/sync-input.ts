import { normalizeSync, validateSyncConfig, type DataSource, type SyncConfig } from '@idra/core';
import type { IdraContext } from './context.ts';

/**
 * A sync from a client, ready to store: validated (400 naming each bad field), inline connection
 * masks merged with the stored secrets, data sources resolved (they must exist, with the same
 * connector). `pending` holds data sources written in the same request (an import).
 */
export async function prepareSync(ctx: IdraContext, input: unknown, stored: SyncConfig | undefined, pending = new Map<string, DataSource>(), base = ''): Promise<SyncConfig> {
  const config = structuredClone(validateSyncConfig(input, base));
  const at = (role: string) => (base ? `${base}.${role}.connection` : `${role}.connection`);
  if (config.source.connection) config.source.connection = ctx.secrets.mergeForStorage(config.source.connection, stored?.source.connection, at('source'));
  if (config.destination.connection) {
    config.destination.connection = ctx.secrets.mergeForStorage(config.destination.connection, stored?.destination.connection, at('destination'));
  }
  const dataSources = new Map(pending);
  for (const id of [config.source.dataSourceId, config.destination.dataSourceId]) {
    if (id === undefined || dataSources.has(id)) continue;
    const ds = await ctx.configs.getDataSource(id);
    if (ds) dataSources.set(id, ds);
  }
  normalizeSync(config, (id) => dataSources.get(id), base);
  return config;
}
