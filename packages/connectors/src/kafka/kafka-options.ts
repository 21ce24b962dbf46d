import type { Column, EndpointContext } from '@idra/core';
import { EndpointOptions, requiredField } from '../records/endpoint-options.ts';
import { parseColumnTypes } from '../records/json-records.ts';

/** Everything the Kafka source and destination need, with defaults applied. */
export interface KafkaConfig {
  /** `host:port` of the bootstrap brokers: `connection.options.brokers`, else `connection.url` (`kafka://host:port`), else `host`/`port`. */
  brokers: string[];
  topic: string;
  /** TLS to the brokers (`connection.ssl`). @default false */
  ssl: boolean;
  /** SASL credentials (`connection.user` / `connection.password`), with `options.saslMechanism`. */
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  /** `options.clientId`. @default 'idra' */
  clientId: string;
  /** `options.connectTimeout`: per broker connection. @default 3000 ms */
  connectTimeoutMs: number;
  /** `options.requestTimeout`. @default 30000 ms */
  requestTimeoutMs: number;
  /** `options.createTopic`: create the topic when it does not exist (destination, and a source waiting for it). @default false */
  createTopic: boolean;
  /** `options.partitions`: partitions of a topic Idra creates. @default 1 */
  partitions: number;
  /** `options.replicationFactor` of a topic Idra creates; -1 is the broker's default. @default -1 */
  replicationFactor: number;
  /** `options.startFrom`: where a source starts in partitions it has no offset for. @default 'earliest' */
  startFrom: 'earliest' | 'latest';
  /** `options.fetchMaxWait`: how long one fetch waits for data when a partition has none. @default 200 ms */
  fetchMaxWaitMs: number;
  /** `options.fetchMaxBytes`: bytes one fetch asks each partition for. @default 1 MiB */
  fetchMaxBytes: number;
  /** `options.columnTypes`: column types for fields of messages Idra did not write (those carry their columns in a header). */
  columnTypes: Column[];
  /** `options.compression` of produced batches. @default 'none' */
  compression: 'none' | 'gzip';
}

function brokersOf(ctx: EndpointContext, opts: EndpointOptions): string[] {
  const c = ctx.endpoint.connection;
  const fromOption = new EndpointOptions(c.options, `${ctx.role}.connection.options`).list('brokers');
  if (fromOption && fromOption.length > 0) return fromOption;
  if (c.url) {
    // kafka://host1:9092,host2:9092 — not a URL a parser accepts with several hosts, so split it by hand.
    const hosts = c.url.replace(/^[a-z+]+:\/\//i, '').replace(/\/.*$/, '');
    return hosts.split(',').map((h) => h.trim()).filter((h) => h !== '');
  }
  if (c.host) return [`${c.host}:${c.port ?? 9092}`];
  opts.problem('brokers', 'no brokers: give connection.url (kafka://host:port), connection.host or connection.options.brokers');
  return [];
}

/** Reads and checks the Kafka settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveKafkaConfig(ctx: EndpointContext): KafkaConfig {
  const opts = EndpointOptions.of(ctx);
  const topic = requiredField(ctx, 'topic');
  const c = ctx.endpoint.connection;
  const mechanism = opts.oneOf('saslMechanism', ['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'plain');
  const columnTypes = parseColumnTypes(opts.raw('columnTypes'));
  if (typeof columnTypes === 'string') opts.problem('columnTypes', columnTypes);
  const config: KafkaConfig = {
    brokers: brokersOf(ctx, opts),
    topic,
    ssl: c.ssl ?? false,
    sasl: c.user ? { mechanism, username: c.user, password: c.password ?? '' } : undefined,
    clientId: opts.string('clientId', 'idra'),
    connectTimeoutMs: opts.duration('connectTimeout', 3000),
    requestTimeoutMs: opts.duration('requestTimeout', 30_000),
    createTopic: opts.boolean('createTopic', false),
    partitions: opts.integer('partitions', 1, { min: 1, max: 10_000 }),
    replicationFactor: opts.integer('replicationFactor', -1, { min: -1, max: 100 }),
    startFrom: opts.oneOf('startFrom', ['earliest', 'latest'] as const, 'earliest'),
    fetchMaxWaitMs: opts.duration('fetchMaxWait', 200),
    fetchMaxBytes: opts.integer('fetchMaxBytes', 1 << 20, { min: 1024 }),
    columnTypes: typeof columnTypes === 'string' ? [] : columnTypes,
    compression: opts.oneOf('compression', ['none', 'gzip'] as const, 'none'),
  };
  opts.done(`kafka ${ctx.role}`);
  return config;
}
