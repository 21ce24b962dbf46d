import type { Namespace } from 'etcd3';
import { ConfigError } from '../errors.ts';
import type { DataSource, Sync, SyncConfig } from '../model/schema.ts';
import { normalizeSync, validateDataSource, validateSyncConfig } from '../model/sync.ts';
import { openSecrets, sealSecrets, type SecretBox } from '../secrets.ts';
import { KEYS, idOf } from './keys.ts';

function parse(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError([{ path: key, message: 'stored document is not valid JSON' }]);
  }
}

/** Extra keys written in the same transaction as a change (its history entry). */
export type AlsoWrite = Array<{ key: string; value: string }>;

/** Syncs and data sources in etcd: validated when written and again when read; secrets sealed at rest. */
export class ConfigStore {
  private readonly ns: Namespace;
  private readonly box: SecretBox | undefined;
  /**
   * Each sync document as last listed, by key: its revision and what validating it gave (the valid
   * document as JSON, so every caller gets objects of its own). A list validates only what changed:
   * validating 1,000 syncs on every `/overview` cost tens of milliseconds.
   */
  private readonly listed = new Map<string, { revision: string; json: string } | { revision: string; error: string }>();

  constructor(ns: Namespace, box?: SecretBox) {
    this.ns = ns;
    this.box = box;
  }

  /** All syncs as stored (secrets sealed). Invalid documents are returned in `invalid` with the reason. */
  async listSyncs(): Promise<{ syncs: SyncConfig[]; invalid: Array<{ id: string; error: string }> }> {
    const { kvs } = await this.ns.getAll().prefix(KEYS.syncs).exec();
    const syncs: SyncConfig[] = [];
    const invalid: Array<{ id: string; error: string }> = [];
    const keys = new Set<string>();
    for (const kv of kvs) {
      const key = kv.key.toString();
      keys.add(key);
      let known = this.listed.get(key);
      if (known?.revision !== kv.mod_revision) {
        try {
          known = { revision: kv.mod_revision, json: JSON.stringify(validateSyncConfig(parse(kv.value.toString(), key))) };
        } catch (err) {
          known = { revision: kv.mod_revision, error: (err as Error).message };
        }
        this.listed.set(key, known);
      }
      if ('json' in known) syncs.push(JSON.parse(known.json) as SyncConfig);
      else invalid.push({ id: idOf(key, KEYS.syncs), error: known.error });
    }
    for (const key of this.listed.keys()) if (!keys.has(key)) this.listed.delete(key);
    syncs.sort((a, b) => a.id.localeCompare(b.id));
    return { syncs, invalid };
  }

  async getSync(id: string): Promise<SyncConfig | undefined> {
    const text = await this.ns.get(KEYS.sync(id)).string();
    return text === null ? undefined : validateSyncConfig(parse(text, KEYS.sync(id)));
  }

  /** Validates and stores a sync (the secrets of both endpoints sealed: connections, headers, URLs …), with `also` in the same transaction. */
  async putSync(input: unknown, also: AlsoWrite = []): Promise<SyncConfig> {
    const config = validateSyncConfig(input);
    const stored: SyncConfig = this.box
      ? { ...config, source: sealSecrets(config.source, this.box), destination: sealSecrets(config.destination, this.box) }
      : config;
    await this.write(KEYS.sync(config.id), JSON.stringify(stored), also);
    return stored;
  }

  /** Deletes a sync, and writes `also` in the same transaction if it existed. */
  async deleteSync(id: string, also: AlsoWrite = []): Promise<boolean> {
    return this.remove(KEYS.sync(id), also);
  }

  private async write(key: string, value: string, also: AlsoWrite): Promise<void> {
    if (also.length === 0) {
      await this.ns.put(key).value(value);
      return;
    }
    await this.ns
      .if(key, 'Version', '>', -1)
      .then(this.ns.put(key).value(value), ...also.map((a) => this.ns.put(a.key).value(a.value)))
      .commit();
  }

  private async remove(key: string, also: AlsoWrite): Promise<boolean> {
    if (also.length === 0) return Number((await this.ns.delete().key(key).exec()).deleted) > 0;
    const res = await this.ns
      .if(key, 'Version', '>', 0)
      .then(this.ns.delete().key(key), ...also.map((a) => this.ns.put(a.key).value(a.value)))
      .commit();
    return res.succeeded;
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

  /** Validates and stores a data source with its secrets sealed, with `also` in the same transaction. */
  async putDataSource(input: unknown, also: AlsoWrite = []): Promise<DataSource> {
    const ds = validateDataSource(input);
    const stored: DataSource = { ...ds, connection: this.box ? sealSecrets(ds.connection, this.box) : ds.connection };
    await this.write(KEYS.dataSource(ds.id), JSON.stringify(stored), also);
    return stored;
  }

  async deleteDataSource(id: string, also: AlsoWrite = []): Promise<boolean> {
    return this.remove(KEYS.dataSource(id), also);
  }

  /** A runnable sync: defaults applied, data sources resolved (`pending` first: not yet stored), secrets decrypted. */
  async resolveSync(config: SyncConfig, pending: ReadonlyMap<string, DataSource> = new Map()): Promise<Sync> {
    const ids = [config.source.dataSourceId, config.destination.dataSourceId].filter((x): x is string => x !== undefined);
    const dataSources = new Map<string, DataSource>();
    for (const id of ids) {
      const ds = pending.get(id) ?? (await this.getDataSource(id));
      if (ds) dataSources.set(id, ds);
    }
    const sync = normalizeSync(config, (id) => dataSources.get(id));
    return { ...sync, source: openSecrets(sync.source, this.box), destination: openSecrets(sync.destination, this.box) };
  }
}
