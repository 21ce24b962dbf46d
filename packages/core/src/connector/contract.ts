import type { TObject } from '@sinclair/typebox';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { ConnectorKind } from '../model/connector-kinds.ts';
import { modesOf, type SyncMode } from '../model/modes.ts';
import { EndpointSchema, type Connection, type Endpoint, type ResolvedEndpoint, type Sync, type SyncConfig } from '../model/schema.ts';
import { schemaIssues } from '../model/validate.ts';
import { optionsOfRole, resolveOptions, type ConnectorRole, type OptionProps, type ResolvedOptions } from './options.ts';
import type { ChangeLogReadiness, Destination, EndpointContext, LogicalType, Source, TransactionVisibility } from './types.ts';

/** Endpoint fields that name or narrow the data: everything of an endpoint but its connector, connection and options. */
export type EndpointField = Exclude<keyof Endpoint, 'connector' | 'dataSourceId' | 'connection' | 'options'>;
const ENDPOINT_FIELDS = Object.keys(EndpointSchema.properties).filter(
  (f) => !['connector', 'dataSourceId', 'connection', 'options'].includes(f),
) as EndpointField[];

/** What one role of a connector reads from an endpoint. */
export interface RoleSpec {
  /** The endpoint fields it uses; any other one given is refused. */
  fields: readonly EndpointField[];
  /** Fields that must be given; a list means exactly one of its fields. */
  required: ReadonlyArray<EndpointField | readonly EndpointField[]>;
  /** The schema of the endpoint's `options`: what the role accepts, with descriptions and defaults. */
  options: TObject;
}

/**
 * What a connector accepts, known before any driver loads (Airbyte's `spec`, Kafka Connect's
 * `config()`): the API checks a sync against it on save, single mode checks its file, the connector
 * reads its endpoint through it, and the API serves it so the UI needs no copy. A role that is
 * absent is one the connector cannot play; the modes come from the mode table.
 */
export interface ConnectorSpec<P extends OptionProps = OptionProps> {
  kind: ConnectorKind;
  /** Name shown to people (`MySQL / MariaDB`). */
  label: string;
  /** Every option of the connector, each declared once; `only` marks those of one role. */
  options: P;
  source?: RoleSpec | undefined;
  destination?: RoleSpec | undefined;
  /** Rules between options (one that applies only with another), checked once each option is valid; each problem names its option. */
  rules?(options: ResolvedOptions<P>, role: ConnectorRole): Array<{ option: keyof P & string; message: string }>;
  /**
   * Rules that need the endpoint's connection, a data source's once resolved (an HTTP endpoint's URL on
   * its connection's origin), checked where syncs are saved or loaded; each problem's path is within the
   * endpoint (`url`).
   */
  endpointRules?(endpoint: ResolvedEndpoint, role: ConnectorRole): ConfigIssue[];
  /**
   * Why the destination cannot apply deletes with these options, naming the option to change; absent or undefined when it
   * can. A sync that deletes (mirror, a soft-delete column, reconciliation, a change log) is refused on save with it.
   */
  deletes?(options: ResolvedOptions<P>): { option: keyof P & string; message: string } | undefined;
}

/** Every connector a build offers, by kind. */
export type ConnectorCatalogue = Readonly<Partial<Record<ConnectorKind, ConnectorSpec>>>;

type RoleFields = Omit<RoleSpec, 'options'>;

/** Declares a connector: its options once, and the endpoint fields of each role it plays. */
export function defineConnector<P extends OptionProps>(def: {
  kind: ConnectorKind;
  label: string;
  options: P;
  source?: RoleFields;
  destination?: RoleFields;
  rules?: ConnectorSpec<P>['rules'];
  endpointRules?: ConnectorSpec<P>['endpointRules'];
  deletes?: ConnectorSpec<P>['deletes'];
}): ConnectorSpec<P> {
  const role = (r: ConnectorRole) => {
    const fields = def[r];
    return fields && { ...fields, options: optionsOfRole(def.options, r) };
  };
  return {
    kind: def.kind,
    label: def.label,
    options: def.options,
    source: role('source'),
    destination: role('destination'),
    rules: def.rules,
    endpointRules: def.endpointRules,
    deletes: def.deletes,
  };
}

/** A connector as the API serves it: per role, the fields, the options' JSON schema and the modes. */
export interface ConnectorDescription {
  kind: ConnectorKind;
  label: string;
  roles: Partial<Record<ConnectorRole, Omit<RoleSpec, 'options'> & { options: TObject; modes: SyncMode[] }>>;
}

/** The catalogue entry of a connector. */
export function describeConnector(spec: ConnectorSpec): ConnectorDescription {
  const roles: ConnectorDescription['roles'] = {};
  for (const role of ['source', 'destination'] as const) {
    const r = spec[role];
    if (r) roles[role] = { ...r, modes: modesOf(spec.kind, role) };
  }
  return { kind: spec.kind, label: spec.label, roles };
}

const other = (role: ConnectorRole): ConnectorRole => (role === 'source' ? 'destination' : 'source');
const at = (base: string, field: string) => (base ? `${base}.${field}` : field);

function optionIssues(spec: ConnectorSpec, role: ConnectorRole, given: Record<string, unknown> | undefined, base: string): ConfigIssue[] {
  const accepted = spec[role]!.options;
  const known = Object.keys(accepted.properties);
  const issues: ConfigIssue[] = [];
  const checked: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    // null stands for "not given" (the default applies), as a cleared form field sends it.
    if (value === null) continue;
    if (known.includes(name)) {
      checked[name] = value;
    } else if (Object.hasOwn(spec.options, name)) {
      issues.push({ path: at(base, name), message: `is a ${other(role)} option: the ${spec.kind} ${role} does not use it` });
    } else {
      issues.push({ path: at(base, name), message: `unknown option (the ${spec.kind} ${role} knows: ${known.sort().join(', ') || 'none'})` });
    }
  }
  issues.push(...schemaIssues(accepted, checked, base));
  if (issues.length > 0 || !spec.rules) return issues;
  return spec.rules(resolveOptions(spec.options, checked), role).map((r) => ({ path: at(base, r.option), message: r.message }));
}

/** What is wrong with an endpoint for the connector it names, each problem at its field (`source.options.fromBeginnig`). */
export function endpointIssues(catalogue: ConnectorCatalogue, role: ConnectorRole, endpoint: Endpoint, base = ''): ConfigIssue[] {
  const path = (field: string) => at(at(base, role), field);
  const spec = catalogue[endpoint.connector];
  if (!spec) return [{ path: path('connector'), message: `connector '${endpoint.connector}' is not available in this build` }];
  const roleSpec = spec[role];
  if (!roleSpec) return [{ path: path('connector'), message: `the ${spec.kind} connector cannot be a ${role}` }];
  const issues: ConfigIssue[] = [];
  const given = (f: EndpointField) => endpoint[f] !== undefined;
  for (const field of ENDPOINT_FIELDS) {
    if (!given(field) || roleSpec.fields.includes(field)) continue;
    const elsewhere = spec[other(role)]?.fields.includes(field);
    issues.push({ path: path(field), message: elsewhere ? `is only allowed on a ${other(role)}` : `is not used by the ${spec.kind} ${role}` });
  }
  for (const rule of roleSpec.required) {
    if (typeof rule === 'string') {
      if (!given(rule)) issues.push({ path: path(rule), message: `is required for the ${spec.kind} ${role}` });
      continue;
    }
    const present = rule.filter(given);
    if (present.length === 0) issues.push({ path: path(rule[0]!), message: `is required (or give ${rule.slice(1).join(' or ')})` });
    if (present.length > 1) issues.push({ path: path(present[1]!), message: `give either ${rule.join(' or ')}, not both` });
  }
  return [...issues, ...optionIssues(spec, role, endpoint.options, path('options'))];
}

/** The problems of both ends of a sync against the connectors' contracts. */
export function connectorIssues(catalogue: ConnectorCatalogue, config: Pick<SyncConfig, 'source' | 'destination'>, base = ''): ConfigIssue[] {
  return [...endpointIssues(catalogue, 'source', config.source, base), ...endpointIssues(catalogue, 'destination', config.destination, base)];
}

/** Why the destination of a sync that deletes cannot apply its deletes, at the option to change; none when it can (or its options are invalid: those are reported already). */
export function destinationDeleteIssues(catalogue: ConnectorCatalogue, destination: Endpoint, why: string, base = ''): ConfigIssue[] {
  const spec = catalogue[destination.connector];
  if (!spec?.deletes || !spec.destination || endpointIssues(catalogue, 'destination', destination).length > 0) return [];
  const refused = spec.deletes(resolveOptions(spec.options, destination.options));
  return refused ? [{ path: at(at(base, 'destination.options'), refused.option), message: `${refused.message} (this sync deletes rows: ${why})` }] : [];
}

/** The problems of both ends of a sync that show with their connections resolved (secrets open), each at its field. */
export function resolvedEndpointIssues(
  catalogue: ConnectorCatalogue,
  sync: { source: ResolvedEndpoint; destination: ResolvedEndpoint },
  base = '',
): ConfigIssue[] {
  return (['source', 'destination'] as const).flatMap((role) =>
    (catalogue[sync[role].connector]?.endpointRules?.(sync[role], role) ?? []).map((i) => ({ ...i, path: at(at(base, role), i.path) })),
  );
}

/**
 * The one way a connector reads its endpoint: checked against its spec (a ConfigError names every
 * bad field), then its options resolved (defaults, durations in ms, lists split).
 */
export function readEndpoint<P extends OptionProps>(spec: ConnectorSpec<P>, ctx: EndpointContext): ResolvedOptions<P> {
  const issues = endpointIssues({ [spec.kind]: spec }, ctx.role, ctx.endpoint);
  if (issues.length > 0) throw new ConfigError(issues, `invalid ${spec.kind} ${ctx.role}`);
  return resolveOptions(spec.options, ctx.endpoint.options);
}

/** A column of something a data source holds, as listed for people choosing what to sync. */
export interface DiscoveredColumn {
  name: string;
  type: LogicalType;
  primaryKey: boolean;
}

/** A table, view, collection, topic, bucket prefix or API resource of a data source. */
export interface DiscoveredObject {
  /** The namespace it lives in: SQL schema, MongoDB database, S3 bucket. */
  schema?: string | undefined;
  name: string;
  /** Its columns and key, when the store declares them or a sample shows them (empty when unknown). */
  columns: DiscoveredColumn[];
}

/** Bounds of a connection test or a listing. */
export interface ProbeOptions {
  /** Gives up after this long. */
  timeoutMs: number;
  /** Aborted when the caller gives up (the timeout passed). */
  signal: AbortSignal;
}

/** What a connection test found besides "it works". */
export interface CheckReport {
  /** SQL: whether `id`/`timestamp` reads through this connection see other sessions' open transactions. */
  transactions?: TransactionVisibility | undefined;
  /** SQL with a change log: whether a `cdc` sync could read it. */
  changeLog?: ChangeLogReadiness | undefined;
}

/**
 * What a connector does once its module is loaded (its driver with it): open sources and
 * destinations for syncs, test a connection, list what a data source holds. Each connector's folder
 * exports one; the registry of packages/connectors loads it on first use.
 */
export interface Connector {
  openSource?(ctx: EndpointContext): Promise<Source>;
  openDestination?(ctx: EndpointContext): Promise<Destination>;
  /**
   * Connects and makes one harmless request (`select 1`, a ping, a listing); throws when the server
   * cannot be used. Reports what else it found out, when the connector can tell.
   */
  check(connection: Connection, opts: ProbeOptions): Promise<CheckReport | void>;
  /** What the data source holds: tables/views, collections, topics, bucket prefixes, or the resource an API answers with. */
  discover(connection: Connection, opts: ProbeOptions): Promise<DiscoveredObject[]>;
  /**
   * Drops what the connector made on the source server for a sync that is deleted (a replication
   * slot, which would otherwise hold the server's log forever); returns what it dropped.
   */
  release?(sync: Sync): Promise<string[]>;
}
