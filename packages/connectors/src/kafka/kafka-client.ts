import { isIP } from 'node:net';
import { Kafka, logLevel, type Admin, type IHeaders, type ISocketFactory } from 'kafkajs';
import { assertDatabaseHosts, connectToDatabase, connectToDatabaseTls } from '../records/address-guard.ts';
import type { KafkaClientSettings, KafkaConfig } from './kafka-options.ts';

/** Header carrying the columns (names and types) of the row a message holds, so that a Kafka source restores them. */
export const COLUMNS_HEADER = 'idra-columns';

/** Brokers' sockets as kafkajs opens them (keep-alive, TLS server name), refusing link-local targets (cloud metadata) also among the brokers the cluster announces. */
const guardedSockets: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectToDatabaseTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(typeof ssl === 'object' ? ssl : {}) }, onConnect)
    : connectToDatabase({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** A kafkajs client for one endpoint; kafkajs's own retries are short, the sync runner's backoff does the rest. */
export function createKafka(config: KafkaClientSettings): Kafka {
  // Said plainly up front: kafkajs reports a refused socket as a connection error like any other.
  assertDatabaseHosts(config.brokers);
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    ...(config.sasl ? { sasl: config.sasl as never } : {}),
    connectionTimeout: config.connectTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
    socketFactory: guardedSockets,
  });
}

/** Creates the topic when it is missing and `createTopic` allows it; throws when it is missing otherwise. */
export async function ensureTopic(admin: Admin, config: KafkaConfig): Promise<void> {
  const topics = await admin.listTopics();
  if (topics.includes(config.topic)) return;
  if (!config.createTopic) throw new Error(`topic ${config.topic} does not exist (set options.createTopic to create it)`);
  await admin.createTopics({
    topics: [{ topic: config.topic, numPartitions: config.partitions, replicationFactor: config.replicationFactor }],
    waitForLeaders: true,
  });
}

/** One record of a fetch response, as kafkajs decodes it. */
export interface FetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** What a fetch returned for one partition: its messages at or after the fetch offset (no control records). */
export interface PartitionFetch {
  partition: number;
  messages: FetchedMessage[];
  /** The offset to fetch next when every message was consumed (past trailing control records too). */
  nextOffset: string;
  highWatermark: string;
}

// kafkajs 2.2 has no manual partition assignment: its consumer always joins a consumer group. A
// sync keeps its partition offsets in its own offset (fenced, editable by an operator), so the
// source fetches by offset through the cluster object kafkajs builds for its consumers. These
// are kafkajs internals, pinned by the exact version in package.json; kafka.test.ts covers them.
interface InternalBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: InternalPartitionData[] }> }>;
}
interface InternalPartitionData {
  partition: number;
  highWatermark: string;
  abortedTransactions: unknown[];
  messages: Array<FetchedMessage & { isControlRecord?: boolean }>;
}
interface InternalCluster {
  findGroupCoordinator(args: { groupId: string }): Promise<{
    offsetCommit(request: {
      groupId: string;
      groupGenerationId: number;
      memberId: string;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
    }): Promise<{
      responses: Array<{ partitions: Array<{ partition: number; errorCode: number }> }>;
    }>;
  }>;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<InternalBroker>;
}
interface InternalBatch {
  messages: FetchedMessage[];
  isEmptyIncludingFiltered(): boolean;
  lastOffset(): string;
}
type InternalBatchClass = new (topic: string, fetchedOffset: string, partitionData: InternalPartitionData) => InternalBatch;

const READ_COMMITTED = 1;

/** Reads partitions of one topic from given offsets, without a consumer group. */
export class PartitionFetcher {
  private readonly cluster: InternalCluster;
  private readonly batchClass: InternalBatchClass;
  private readonly config: KafkaConfig;

  private constructor(cluster: InternalCluster, batchClass: InternalBatchClass, config: KafkaConfig) {
    this.cluster = cluster;
    this.batchClass = batchClass;
    this.config = config;
  }

  static async open(kafka: Kafka, config: KafkaConfig): Promise<PartitionFetcher> {
    const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    const createCluster = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
    if (typeof createCluster !== 'function') throw new Error('this kafkajs version has no internal cluster factory: the Kafka source needs kafkajs 2.2.x');
    const { default: batchClass } = (await import('kafkajs/src/consumer/batch.js' as string)) as { default: InternalBatchClass };
    const cluster = createCluster({
      metadataMaxAge: 60_000,
      allowAutoTopicCreation: false,
      maxInFlightRequests: null,
      isolationLevel: READ_COMMITTED,
    }) as InternalCluster;
    await cluster.connect();
    await cluster.addTargetTopic(config.topic);
    return new PartitionFetcher(cluster, batchClass, config);
  }

  /** Fetches every partition of `offsets` from its offset, one request per leader broker. */
  async fetch(offsets: ReadonlyMap<number, string>): Promise<PartitionFetch[]> {
    const { topic } = this.config;
    await this.cluster.refreshMetadata();
    const byLeader = this.cluster.findLeaderForPartitions(topic, [...offsets.keys()]);
    const perLeader = await Promise.all(
      Object.entries(byLeader).map(async ([nodeId, partitions]) => {
        const broker = await this.cluster.findBroker({ nodeId });
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: this.config.fetchMaxWaitMs,
          minBytes: 1,
          maxBytes: this.config.fetchMaxBytes * partitions.length,
          topics: [
            { topic, partitions: partitions.map((partition) => ({ partition, fetchOffset: offsets.get(partition)!, maxBytes: this.config.fetchMaxBytes })) },
          ],
        });
        return response.responses.flatMap((r) =>
          r.partitions.map((data): PartitionFetch => {
            const fetchOffset = offsets.get(data.partition)!;
            const batch = new this.batchClass(topic, fetchOffset, data);
            const nextOffset = batch.isEmptyIncludingFiltered() ? fetchOffset : (BigInt(batch.lastOffset()) + 1n).toString();
            return { partition: data.partition, messages: batch.messages, nextOffset, highWatermark: data.highWatermark };
          }),
        );
      }),
    );
    return perLeader.flat();
  }

  /**
   * Commits `offsets` for a consumer group that has no members, as Kafka's own admin tool does
   * (generation -1, no member id): kafkajs's admin.setOffsets joins the group with a consumer to do
   * it, which takes seconds per call. Throws when the broker refuses a partition (e.g. the group has
   * live members).
   */
  async commitGroupOffsets(groupId: string, offsets: ReadonlyMap<number, string>): Promise<void> {
    const coordinator = await this.cluster.findGroupCoordinator({ groupId });
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset }));
    const { responses } = await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics: [{ topic: this.config.topic, partitions }] });
    const refused = responses.flatMap((r) => r.partitions).filter((p) => p.errorCode !== 0);
    if (refused.length > 0)
      throw new Error(`consumer group ${groupId}: offset commit refused (partition ${refused[0]!.partition}, error code ${refused[0]!.errorCode})`);
  }

  async close(): Promise<void> {
    await this.cluster.disconnect();
  }
}
