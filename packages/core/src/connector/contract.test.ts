import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { Endpoint } from '../model/schema.ts';
import { connectorIssues, defineConnector, describeConnector, endpointIssues, readEndpoint, type ConnectorCatalogue } from './contract.ts';
import { Option } from './options.ts';

/** A connector of the test's own, shaped like the real ones: common and role-only options, a rule between two. */
const spec = defineConnector({
  kind: 'kafka',
  label: 'Queue',
  options: {
    clientId: Option.string('client id', 'idra'),
    timeout: Option.duration('per request', 30_000),
    brokers: Option.list('host:port', ['localhost:9092']),
    partitions: Option.integer('partitions', 1, { min: 1, max: 100 }),
    startFrom: Option.oneOf(['earliest', 'latest'], 'where to start', 'earliest', { only: 'source' }),
    columnTypes: Option.columnTypes('field types', { only: 'source' }),
    compression: Option.oneOf(['none', 'gzip'], 'compression', 'none', { only: 'destination' }),
    header: Option.optionalBoolean('first line names the columns', { only: 'source' }),
  },
  source: { fields: ['topic', 'columns'], required: ['topic'] },
  destination: { fields: ['topic', 'table'], required: [['topic', 'table']] },
  rules: (o) => (o.header === false && o.startFrom === 'latest' ? [{ option: 'header', message: 'cannot be false when starting from the latest' }] : []),
});
const catalogue: ConnectorCatalogue = { kafka: spec };
const issues = (role: 'source' | 'destination', ep: Partial<Endpoint>) =>
  endpointIssues(catalogue, role, { connector: 'kafka', connection: {}, ...ep } as Endpoint).map((i) => `${i.path}: ${i.message}`);

describe('connector contract', () => {
  it('names an unknown option, and an option of the other role, at its field', () => {
    expect(issues('source', { topic: 't', options: { fromBeginnig: true } })).toEqual([
      'source.options.fromBeginnig: unknown option (the kafka source knows: brokers, clientId, columnTypes, header, partitions, startFrom, timeout)',
    ]);
    expect(issues('destination', { topic: 't', options: { startFrom: 'latest' } })).toEqual([
      'destination.options.startFrom: is a source option: the kafka destination does not use it',
    ]);
  });

  it('checks option values against their schema, durations and lists in both of their forms', () => {
    expect(issues('source', { topic: 't', options: { timeout: '5s', brokers: 'a:1,b:2', partitions: 3, columnTypes: { p: 'decimal(12,2)' } } })).toEqual([]);
    expect(issues('source', { topic: 't', options: { timeout: 'soon', partitions: 0, startFrom: 'middle', columnTypes: { p: 'money' } } })).toEqual([
      'source.options.timeout: must be milliseconds or a duration like "5s"',
      'source.options.partitions: must be >= 1',
      'source.options.startFrom: must be one of "earliest", "latest"',
      'source.options.columnTypes.p: must match one of boolean, int32, int64, decimal, float, text, uuid, date, time, timestamp, timestamptz, json, bytes (decimal may be decimal(p,s))',
    ]);
  });

  it('applies rules between options once each is valid', () => {
    expect(issues('source', { topic: 't', options: { header: false, startFrom: 'latest' } })).toEqual([
      'source.options.header: cannot be false when starting from the latest',
    ]);
  });

  it('requires the fields a role needs and refuses those it does not use', () => {
    expect(issues('source', {})).toEqual(['source.topic: is required for the kafka source']);
    expect(issues('source', { topic: 't', table: 'x', bucket: 'b' })).toEqual([
      'source.table: is only allowed on a destination',
      'source.bucket: is not used by the kafka source',
    ]);
    expect(issues('destination', {})).toEqual(['destination.topic: is required (or give table)']);
    expect(issues('destination', { topic: 't', table: 'x' })).toEqual(['destination.table: give either topic or table, not both']);
  });

  it('refuses a connector the build does not offer, and a role the connector cannot play', () => {
    const sourceOnly: ConnectorCatalogue = { kafka: { ...spec, destination: undefined } };
    const sync = { source: { connector: 'kafka', connection: {}, topic: 't' }, destination: { connector: 'mysql', connection: {}, table: 't' } } as const;
    expect(connectorIssues(sourceOnly, { ...sync, destination: { ...sync.source } }).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'destination.connector: the kafka connector cannot be a destination',
    ]);
    expect(connectorIssues(catalogue, sync).map((i) => i.message)).toEqual(["connector 'mysql' is not available in this build"]);
  });

  it('reads an endpoint: defaults applied, durations in milliseconds, lists split, column types as columns', () => {
    const sync = {} as never;
    const endpoint = {
      connector: 'kafka',
      connection: {},
      topic: 't',
      options: { timeout: '1.5s', brokers: ' a:1 , b:2 ', columnTypes: { p: 'decimal(12,2)', at: 'timestamp' }, header: null },
    } as const;
    expect(readEndpoint(spec, { sync, role: 'source', endpoint })).toEqual({
      clientId: 'idra',
      timeout: 1500,
      brokers: ['a:1', 'b:2'],
      partitions: 1,
      startFrom: 'earliest',
      columnTypes: [
        { name: 'p', type: 'decimal', precision: 12, scale: 2 },
        { name: 'at', type: 'timestamp' },
      ],
      compression: 'none',
      header: undefined,
    });
    expect(() => readEndpoint(spec, { sync, role: 'destination', endpoint })).toThrow(
      new ConfigError(
        [{ path: 'destination.options.columnTypes', message: 'is a source option: the kafka destination does not use it' }],
        'invalid kafka destination',
      ),
    );
  });

  it('describes each role for the catalogue: fields, the options it accepts with their defaults, and its modes', () => {
    const d = describeConnector(spec);
    expect(Object.keys(d.roles.source!.options.properties)).not.toContain('compression');
    expect(Object.keys(d.roles.destination!.options.properties)).toEqual(['clientId', 'timeout', 'brokers', 'partitions', 'compression']);
    expect(d.roles.destination!.options.properties['timeout']).toMatchObject({ default: 30_000, description: 'per request' });
    expect(d.roles.source!.modes).toEqual(['stream']);
    expect(JSON.parse(JSON.stringify(d)).roles.source.required).toEqual(['topic']);
  });
});
