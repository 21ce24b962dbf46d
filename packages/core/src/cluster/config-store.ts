import type { Namespace } from 'etcd3';
import { ConfigError } from '../errors.ts';
import type { DataSource, Sync, SyncConfig } from '../model/schema.ts';
import { normalizeSync, validateDataSource, validateSyncConfig } from '../model/sync.ts';
import { openConnection, sealConnection, type SecretBox } from '../secrets.ts';
import { KEYS, idOf } from './keys.ts';

function parse(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError([{ path: key, message: 'stored document is not valid JSON' }]);
  }
}

/** Syncs and data sources in etcd: validated when written and again when read; secrets sealed at rest. */
export class ConfigStore {
  private readonly ns: Namespace;
  private readonly box: SecretBox | undefined;

  constructor(ns: Namespace, box?: SecretBox) {
    this.ns = ns;
    this.box = box;
  }

  /** All syncs as stored (secrets sealed). Invalid documents are returned in `invalid` with the reason. */
  async listSyncs(): Promise<{ syncs: SyncConfig[]; invalid: Array<{ id: string; error: string }> }> {
    const all = await this.ns.getAll().prefix(KEYS.syncs).strings();
    const syncs: SyncConfig[] = [];
    const invalid: Array<{ id: string; error: string }> = [];
    for (const [key, text] of Object.entries(all)) {
      const id = idOf(key, KEYS.syncs);
      try {
        syncs.push(validateSyncConfig(parse(text, key)));
      } catch (err) {
        invalid.push({ id, error: (err as Error).message });
      }
    }
    syncs.sort((a, b) => a.id.localeCompare(b.id));
    return { syncs, invalid };
  }

  async getSync(id: string): Promise<SyncConfig | undefined> {
    const text = await this.ns.get(KEYS.sync(id)).string();
    return text === null ? undefined : validateSyncConfig(parse(text, KEYS.sync(id)));
  }

  /** Validates and stores a sync (inline connection secrets sealed). */
  async putSync(input: unknown): Promise<SyncConfig> {
    const config = validateSyncConfig(input);
    const stored: SyncConfig = structuredClone(config);
    for (const ep of [stored.source, stored.destination]) if (ep.connection && this.box) ep.connection = sealConnection(ep.connection, this.box);
    await this.ns.put(KEYS.sync(config.id)).value(JSON.stringify(stored));
    return stored;
  }

  async deleteSync(id: string): Promise<boolean> {
    const res = await this.ns.delete().key(KEYS.sync(id)).exec();
    return Number(res.deleted) > 0;
  }

  async listDataSources(): Promise<DataSource[]> {
    const all = await this.ns.getAll().prefix(KEYS.dataSources).strings();
    return Object.entries(all)
      .map(([key, text]) => validateDataSource(parse(text, key)))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async getDataSource(id: string): Promise<DataSource | undefined> {
    const text = await this.ns.get(KEYS.dataSource(id)).string();
    return text === null ? undefined : validateDataSource(parse(text, KEYS.dataSource(id)));
  }

  /** Validates and stores a data source with its secrets sealed. */
  async putDataSource(input: unknown): Promise<DataSource> {
    const ds = validateDataSource(input);
    const stored: DataSource = { ...ds, connection: this.box ? sealConnection(ds.connection, this.box) : ds.connection };
    await this.ns.put(KEYS.dataSource(ds.id)).value(JSON.stringify(stored));
    return stored;
  }

  async deleteDataSource(id: string): Promise<boolean> {
    const res = await this.ns.delete().key(KEYS.dataSource(id)).exec();
    return Number(res.deleted) > 0;
  }

  /** A runnable sync: defaults applied, data sources resolved, secrets decrypted. */
  async resolveSync(config: SyncConfig): Promise<Sync> {
    const ids = [config.source.dataSourceId, config.destination.dataSourceId].filter((x): x is string => x !== undefined);
    const dataSources = new Map<string, DataSource>();
    for (const id of ids) {
      const ds = await this.getDataSource(id);
      if (ds) dataSources.set(id, ds);
    }
    const sync = normalizeSync(config, (id) => dataSources.get(id));
    sync.source.connection = openConnection(sync.source.connection, this.box);
    sync.destination.connection = openConnection(sync.destination.connection, this.box);
    return sync;
  }
}
