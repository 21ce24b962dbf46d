import { ConfigError, Option, defineConnector, readEndpoint, type Column, type Connection, type EndpointContext, type ResolvedOptions } from '@idra/core';

/** Kafka topics of JSON messages: the options of an endpoint, each with its default. */
export const kafkaSpec = defineConnector({
  kind: 'kafka',
  label: 'Kafka',
  options: {
    clientId: Option.string('client id sent to the brokers', 'idra'),
    saslMechanism: Option.oneOf(['plain', 'scram-sha-256', 'scram-sha-512'], 'SASL mechanism for connection.user / connection.password', 'plain'),
    connectTimeout: Option.duration('per broker connection', 3000),
    requestTimeout: Option.duration('per request', 30_000),
    createTopic: Option.boolean('create the topic when it does not exist (a destination, and a source waiting for it)', false),
    partitions: Option.integer('partitions of a topic Idra creates', 1, { min: 1, max: 10_000 }),
    replicationFactor: Option.integer("replication factor of a topic Idra creates; -1 is the broker's default", -1, { min: -1, max: 100 }),
    startFrom: Option.oneOf(['earliest', 'latest'], 'where a source starts in partitions it has no offset for', 'earliest', { only: 'source' }),
    fetchMaxWait: Option.duration('how long one fetch waits for data when a partition has none', 200, { only: 'source' }),
    fetchMaxBytes: Option.integer('bytes one fetch asks each partition for', 1 << 20, { min: 1024 }, { only: 'source' }),
    columnTypes: Option.columnTypes('types of message fields Idra did not write (those carry their columns in a header)', { only: 'source' }),
    valueFormat: Option.oneOf(
      ['json', 'string', 'bytes'],
      'a message value is a JSON object (its fields are the columns), or a string or bytes held in one column (valueColumn)',
      'json',
    ),
    valueColumn: Option.string('string and bytes values: the column holding the value (a source names it so; a destination sends its value)', 'value'),
    metadataColumns: Option.stringRecord(
      'message metadata as columns, each under the name given: {"key": "…", "partition": "…", "offset": "…", "timestamp": "…", "headers": "…"}',
      { only: 'source' },
    ),
    consumerGroup: Option.optionalString(
      'the consumer group whose committed offsets follow the sync\'s own after each batch, so Kafka tools show the lag; never read back (default idra-<sync id>; "" for none)',
      { only: 'source' },
    ),
    compression: Option.oneOf(['none', 'gzip'], 'compression of produced batches', 'none', { only: 'destination' }),
    sendMaxBytes: Option.integer(
      "bytes of messages (keys, values, headers) sent in one request at most: a larger batch goes in several, in order; keep it below the broker's message.max.bytes (1 MiB by default)",
      1_000_000,
      { min: 1024 },
      { only: 'destination' },
    ),
  },
  source: { fields: ['topic', 'columns'], required: ['topic'] },
  destination: { fields: ['topic'], required: ['topic'] },
  rules(o) {
    const unknown = Object.keys(o.metadataColumns).filter((k) => !(METADATA as readonly string[]).includes(k));
    const names = Object.values(o.metadataColumns);
    const problems: Array<{ option: 'metadataColumns'; message: string }> = [];
    if (unknown.length > 0) problems.push({ option: 'metadataColumns', message: `knows ${METADATA.join(', ')}, not ${unknown.join(', ')}` });
    if (names.some((n) => n === '') || new Set(names).size < names.length)
      problems.push({ option: 'metadataColumns', message: 'needs a different, non-empty column name for each' });
    return problems;
  },
});

/** Metadata of a message a Kafka source can put in columns. */
export const METADATA = ['key', 'partition', 'offset', 'timestamp', 'headers'] as const;
export type MessageMetadata = (typeof METADATA)[number];

/** What a kafkajs client is made from. */
export interface KafkaClientSettings {
  /** `host:port` of the bootstrap brokers: `connection.options.brokers`, else `connection.url` (`kafka://host:port`), else `host`/`port`. */
  brokers: string[];
  /** TLS to the brokers (`connection.ssl`). */
  ssl: boolean;
  /** SASL credentials (`connection.user` / `connection.password`), with `options.saslMechanism`. */
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Everything the Kafka source and destination need, with defaults applied (see {@link kafkaSpec} for each option). */
export interface KafkaConfig extends KafkaClientSettings {
  topic: string;
  createTopic: boolean;
  partitions: number;
  replicationFactor: number;
  startFrom: 'earliest' | 'latest';
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  columnTypes: Column[];
  valueFormat: 'json' | 'string' | 'bytes';
  valueColumn: string;
  /** The metadata columns asked for, by metadata. */
  metadataColumns: Partial<Record<MessageMetadata, string>>;
  /** The consumer group that mirrors the sync's offsets; undefined: none. */
  consumerGroup: string | undefined;
  compression: 'none' | 'gzip';
  /** Bytes of messages one send carries at most (estimated uncompressed, with each record's overhead). */
  sendMaxBytes: number;
}

function brokersOf(c: Connection, at: string): string[] {
  const listed = c.options?.brokers;
  const fromOption = typeof listed === 'string' ? listed.split(',') : Array.isArray(listed) && listed.every((b) => typeof b === 'string') ? listed : undefined;
  if (listed !== undefined && !fromOption) {
    throw new ConfigError([{ path: `${at}.options.brokers`, message: 'must be a list of host:port (an array, or comma-separated)' }]);
  }
  const brokers =
    fromOption ??
    (c.url
      ? c.url
          .replace(/^[a-z+]+:\/\//i, '')
          .replace(/\/.*$/, '')
          .split(',')
      : c.host
        ? [`${c.host}:${c.port ?? 9092}`]
        : []);
  const named = brokers.map((h) => h.trim()).filter((h) => h !== '');
  // kafka://host1:9092,host2:9092 is not a URL a parser accepts with several hosts: split by hand above.
  if (named.length === 0)
    throw new ConfigError([
      { path: `${at}.url`, message: 'no brokers: give connection.url (kafka://host:port), connection.host or connection.options.brokers' },
    ]);
  return named;
}

/** What a kafkajs client needs from a connection (`at` names it in errors) and the endpoint's options. */
export function kafkaClientSettings(c: Connection, at: string, o: ResolvedOptions<typeof kafkaSpec.options>): KafkaClientSettings {
  return {
    brokers: brokersOf(c, at),
    ssl: c.ssl ?? false,
    sasl: c.user ? { mechanism: o.saslMechanism, username: c.user, password: c.password ?? '' } : undefined,
    clientId: o.clientId,
    connectTimeoutMs: o.connectTimeout,
    requestTimeoutMs: o.requestTimeout,
  };
}

/** Reads and checks the Kafka settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveKafkaConfig(ctx: EndpointContext): KafkaConfig {
  const o = readEndpoint(kafkaSpec, ctx);
  return {
    ...kafkaClientSettings(ctx.endpoint.connection, `${ctx.role}.connection`, o),
    topic: ctx.endpoint.topic!,
    createTopic: o.createTopic,
    partitions: o.partitions,
    replicationFactor: o.replicationFactor,
    startFrom: o.startFrom,
    fetchMaxWaitMs: o.fetchMaxWait,
    fetchMaxBytes: o.fetchMaxBytes,
    columnTypes: o.columnTypes,
    valueFormat: o.valueFormat,
    valueColumn: o.valueColumn,
    metadataColumns: o.metadataColumns,
    consumerGroup: o.consumerGroup === '' ? undefined : (o.consumerGroup ?? `idra-${ctx.sync.id}`),
    compression: o.compression,
    sendMaxBytes: o.sendMaxBytes,
  };
}
