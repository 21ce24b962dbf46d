import { ConfigError, type ConfigIssue } from '../errors.ts';
import { SYNC_DEFAULTS } from './defaults.ts';
import { parseDuration } from '../duration.ts';
import { schemaIssues, assertSchema } from './validate.ts';
import { connectorIssues, destinationDeleteIssues, resolvedEndpointIssues, type ConnectorCatalogue } from '../connector/contract.ts';
import { copiesInRanges, modeInfo, modesOf } from './modes.ts';
import { SQL_CONNECTORS } from './connector-kinds.ts';
import {
  SyncSchema,
  DataSourceSchema,
  ConfigFileShapeSchema,
  type SyncConfig,
  type Sync,
  type Endpoint,
  type DataSource,
  type ConfigFile,
  type ResolvedEndpoint,
} from './schema.ts';

export { SYNC_DEFAULTS };

const join = (base: string, field: string) => (base ? `${base}.${field}` : field);

/** An endpoint names its server once: by a data source or by a connection. */
function serverIssues(ep: Endpoint, role: 'source' | 'destination', base: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (field: string) => join(base, `${role}.${field}`);
  if (ep.dataSourceId === undefined && ep.connection === undefined) {
    issues.push({ path: at('connection'), message: 'is required (or give dataSourceId)' });
  }
  if (ep.dataSourceId !== undefined && ep.connection !== undefined) {
    issues.push({ path: at('dataSourceId'), message: 'give either dataSourceId or connection, not both' });
  }
  if (ep.connection) issues.push(...connectionIssues(ep.connector, ep.connection, at('connection')));
  return issues;
}

/** Checks that a connection can identify a server of its connector kind. */
export function connectionIssues(connector: string, c: NonNullable<Endpoint['connection']>, path: string): ConfigIssue[] {
  if (connector === 'sqlite') {
    return c.file || c.url ? [] : [{ path: `${path}.file`, message: 'is required for sqlite' }];
  }
  if (c.url === undefined && c.host === undefined) return [{ path: `${path}.url`, message: 'is required (or give host)' }];
  if (c.url !== undefined) {
    try {
      new URL(c.url);
    } catch {
      return [{ path: `${path}.url`, message: 'is not a valid URL' }];
    }
  }
  return [];
}

/** Connectors that can list and compare keys (mirror and reconciliation read both ends' keys). */
const KEY_LISTING: readonly string[] = [...SQL_CONNECTORS, 'mongodb'];

/** The rules of the delete options: which mode each belongs to, and the key and connectors it needs. */
function deleteIssues(s: SyncConfig, at: (field: string) => string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const mode = modeInfo(s.mode);
  const ownCursor = mode.cursor && !mode.fromDestination;
  const keyed = (field: string, what: string) => {
    if (!s.keyColumns) issues.push({ path: at('keyColumns'), message: `is required by ${field} (${what} rows by key)` });
  };
  const listed = (field: string) => {
    for (const role of ['source', 'destination'] as const) {
      if (!KEY_LISTING.includes(s[role].connector)) {
        issues.push({
          path: at(field),
          message: `needs connectors that list their keys at both ends, SQL or MongoDB (the ${role} is ${s[role].connector}, whose keys cannot be listed)`,
        });
      }
    }
  };
  if (s.deletes === 'mirror') {
    if (s.mode !== 'full')
      issues.push({
        path: at('deletes'),
        message: `'mirror' needs mode 'full' (it is '${s.mode}'); cursor modes delete through softDeleteColumn or reconcileEvery`,
      });
    else listed('deletes');
    keyed("deletes 'mirror'", 'it deletes');
  }
  if ((s.deletes === 'delete' || s.deletes === 'mark') && s.softDeleteColumn === undefined) {
    issues.push({ path: at('softDeleteColumn'), message: `is required when deletes is '${s.deletes}' (the column marking rows deleted at the source)` });
  }
  if (s.softDeleteColumn !== undefined) {
    if (!ownCursor) issues.push({ path: at('softDeleteColumn'), message: `applies to modes 'id' and 'timestamp' (mode is '${s.mode}')` });
    if (s.deletes === 'mirror') issues.push({ path: at('deletes'), message: "is 'mirror', which does not use softDeleteColumn: give 'delete' or 'mark'" });
    keyed('softDeleteColumn', 'it deletes');
  }
  if (s.reconcileEvery !== undefined) {
    if (!ownCursor)
      issues.push({ path: at('reconcileEvery'), message: `applies to modes 'id' and 'timestamp' (mode is '${s.mode}'; full mode uses deletes 'mirror')` });
    else listed('reconcileEvery');
    keyed('reconcileEvery', 'it compares');
  }
  return issues;
}

function semanticIssues(s: SyncConfig, base: string, connectors: ConnectorCatalogue | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [
    ...serverIssues(s.source, 'source', base),
    ...serverIssues(s.destination, 'destination', base),
    ...(connectors ? connectorIssues(connectors, s, base) : []),
  ];
  const at = (field: string) => join(base, field);
  const mode = modeInfo(s.mode);
  if (mode.cursor && s.cursorColumn === undefined) {
    issues.push({ path: at('cursorColumn'), message: `is required when mode is '${s.mode}'` });
  }
  if (mode.timestamp && s.tiebreakerColumn === undefined && (s.keyColumns?.length ?? 0) !== 1) {
    issues.push({ path: at('tiebreakerColumn'), message: `is required when mode is '${s.mode}' (or give exactly one keyColumns entry)` });
  }
  if (mode.keyed && !s.keyColumns) issues.push({ path: at('keyColumns'), message: `is required when mode is '${s.mode}'` });
  if (s.writeMode === 'upsert' && !s.keyColumns) issues.push({ path: at('keyColumns'), message: "is required when writeMode is 'upsert'" });
  if (mode.log && s.writeMode === 'insert') {
    issues.push({ path: at('writeMode'), message: `must be 'upsert' when mode is '${s.mode}' (updates and deletes are applied by key)` });
  }
  for (const role of ['source', 'destination'] as const) {
    const supported = role === 'source' ? mode.sources : mode.destinations;
    const connector = s[role].connector;
    if (supported && !supported.includes(connector)) {
      const alternatives = modesOf(connector, role).map((m) => `'${m}'`);
      issues.push({ path: at('mode'), message: `'${s.mode}' is not supported by the ${connector} ${role} (it supports ${alternatives.join(', ')})` });
    }
  }
  if ((s.parallelism ?? 1) > 1 && !copiesInRanges(s.mode)) {
    issues.push({
      path: at('parallelism'),
      message: `applies to modes 'full', 'id' and 'timestamp' (mode is '${s.mode}'${mode.log ? '; its initial copy runs in parallel by source.options.snapshotParallelism' : ''})`,
    });
  }
  issues.push(...deleteIssues(s, at));
  const deletesBy =
    s.deletes === 'mirror'
      ? "deletes 'mirror'"
      : s.softDeleteColumn !== undefined && s.deletes !== 'mark'
        ? 'softDeleteColumn'
        : s.reconcileEvery !== undefined
          ? 'reconcileEvery'
          : mode.log
            ? `mode '${s.mode}'`
            : undefined;
  if (deletesBy && connectors) issues.push(...destinationDeleteIssues(connectors, s.destination, deletesBy, base));
  for (const field of ['pollIntervalMs', 'delayMs', 'reconcileEvery'] as const) {
    const v = s[field];
    if (v !== undefined && parseDuration(v) === undefined) issues.push({ path: at(field), message: 'must be milliseconds or a duration like "5s"' });
  }
  return issues;
}

/**
 * Validates a sync as written by a user; throws a ConfigError naming each bad field. Given the
 * `connectors` of the build, each endpoint is also checked against its connector's contract
 * (fields, options, roles) — the API and single mode do; a stored document read back need not.
 */
export function validateSyncConfig(input: unknown, base = '', context = 'invalid sync', connectors?: ConnectorCatalogue): SyncConfig {
  const schemaProblems = schemaIssues(SyncSchema, input, base);
  if (schemaProblems.length > 0) {
    // Every problem at once: the rules between fields are checked too, as far as the document's shape allows.
    const seen = new Set(schemaProblems.map((i) => i.path));
    let more: ConfigIssue[] = [];
    if (
      typeof input === 'object' &&
      input !== null &&
      typeof (input as SyncConfig).source === 'object' &&
      typeof (input as SyncConfig).destination === 'object'
    ) {
      try {
        more = semanticIssues(input as SyncConfig, base, connectors).filter((i) => !seen.has(i.path));
      } catch {
        more = [];
      }
    }
    throw new ConfigError([...schemaProblems, ...more], context);
  }
  const config = input as SyncConfig;
  const issues = semanticIssues(config, base, connectors);
  if (issues.length > 0) throw new ConfigError(issues, context);
  return config;
}

/** Validates a data source document. */
export function validateDataSource(input: unknown, base = ''): DataSource {
  const ds = assertSchema(DataSourceSchema, input, 'invalid data source', base);
  const issues = connectionIssues(ds.connector, ds.connection, join(base, 'connection'));
  if (issues.length > 0) throw new ConfigError(issues, 'invalid data source');
  return ds;
}

/** Finds a data source by id; undefined when unknown. */
export type DataSourceLookup = (id: string) => DataSource | undefined;

function resolveEndpoint(ep: Endpoint, role: 'source' | 'destination', lookup: DataSourceLookup, base: string): ResolvedEndpoint {
  if (ep.connection) return { ...ep, connection: ep.connection };
  const ds = lookup(ep.dataSourceId!);
  if (!ds) throw new ConfigError([{ path: join(base, `${role}.dataSourceId`), message: `unknown data source '${ep.dataSourceId}'` }], 'invalid sync');
  if (ds.connector !== ep.connector) {
    throw new ConfigError(
      [{ path: join(base, `${role}.connector`), message: `is '${ep.connector}' but data source '${ds.id}' is '${ds.connector}'` }],
      'invalid sync',
    );
  }
  return { ...ep, connection: ds.connection };
}

/** Applies defaults and resolves data sources: the one place user options become a runnable Sync. */
export function normalizeSync(config: SyncConfig, lookup: DataSourceLookup = () => undefined, base = ''): Sync {
  const keyColumns = config.keyColumns ?? [];
  return {
    id: config.id,
    name: config.name ?? config.id,
    enabled: config.enabled ?? true,
    source: resolveEndpoint(config.source, 'source', lookup, base),
    destination: resolveEndpoint(config.destination, 'destination', lookup, base),
    mode: config.mode,
    cursorColumn: config.cursorColumn,
    tiebreakerColumn: modeInfo(config.mode).timestamp ? (config.tiebreakerColumn ?? keyColumns[0]) : config.tiebreakerColumn,
    keyColumns,
    writeMode: config.writeMode ?? (modeInfo(config.mode).log ? 'upsert' : SYNC_DEFAULTS.writeMode),
    batchSize: config.batchSize ?? SYNC_DEFAULTS.batchSize,
    batchBytes: config.batchBytes ?? SYNC_DEFAULTS.batchBytes,
    parallelism: config.parallelism ?? SYNC_DEFAULTS.parallelism,
    pollIntervalMs: config.pollIntervalMs === undefined ? SYNC_DEFAULTS.pollIntervalMs : parseDuration(config.pollIntervalMs)!,
    delayMs: config.delayMs === undefined ? SYNC_DEFAULTS.delayMs : parseDuration(config.delayMs)!,
    watermark: config.watermark ?? SYNC_DEFAULTS.watermark,
    onError: config.onError ?? SYNC_DEFAULTS.onError,
    createTable: config.createTable ?? SYNC_DEFAULTS.createTable,
    schemaChanges: config.schemaChanges ?? SYNC_DEFAULTS.schemaChanges,
    deletes: config.deletes ?? (config.softDeleteColumn !== undefined ? 'delete' : 'none'),
    softDeleteColumn: config.softDeleteColumn,
    maxDeleteFraction: config.maxDeleteFraction ?? SYNC_DEFAULTS.maxDeleteFraction,
    reconcileEveryMs: config.reconcileEvery === undefined ? undefined : parseDuration(config.reconcileEvery)!,
    placement: config.placement,
    lagThreshold: config.lagThreshold,
  };
}

/** The columns a sync's mode orders and resumes by: the cursor (and its tiebreaker) of cursor modes, the key of keyed ones. */
export function orderColumns(sync: Pick<Sync, 'mode' | 'cursorColumn' | 'tiebreakerColumn' | 'keyColumns'>): string[] {
  const mode = modeInfo(sync.mode);
  if (mode.cursor) return mode.timestamp ? [sync.cursorColumn!, sync.tiebreakerColumn!] : [sync.cursorColumn!];
  return mode.keyed ? sync.keyColumns : [];
}

/** Validates a whole single-mode configuration file (against the `connectors` of the build) and returns its runnable syncs. */
export function parseConfigFile(input: unknown, connectors?: ConnectorCatalogue): { file: ConfigFile; syncs: Sync[] } {
  const issues = schemaIssues(ConfigFileShapeSchema, input);
  if (issues.length > 0) throw new ConfigError(issues, 'invalid configuration');
  const file = input as ConfigFile;
  const dataSources = new Map<string, DataSource>();
  const problems: ConfigIssue[] = [];
  (file.dataSources ?? []).forEach((ds, i) => {
    try {
      validateDataSource(ds, `dataSources[${i}]`);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.issues);
      else throw err;
    }
    if (dataSources.has(ds.id)) problems.push({ path: `dataSources[${i}].id`, message: `duplicate id '${ds.id}'` });
    dataSources.set(ds.id, ds);
  });
  const ids = new Set<string>();
  const syncs: Sync[] = [];
  file.syncs.forEach((raw, i) => {
    const base = `syncs[${i}]`;
    try {
      const config = validateSyncConfig(raw, base, 'invalid sync', connectors);
      if (ids.has(config.id)) problems.push({ path: join(base, 'id'), message: `duplicate id '${config.id}'` });
      ids.add(config.id);
      const sync = normalizeSync(config, (id) => dataSources.get(id), base);
      if (connectors) problems.push(...resolvedEndpointIssues(connectors, sync, base));
      syncs.push(sync);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.issues);
      else throw err;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems, 'invalid configuration');
  return { file, syncs };
}
