import { startFerretdb, type MongoServer } from './ferretdb.ts';
import { startKafka, type KafkaServer } from './kafka.ts';
import { startS3, type S3Server } from './s3.ts';

/**
 * A server one test file uses: the one an env variable names (`own` undefined), or a throwaway one
 * the file started (`own` set: tests that stop and restart the server need it).
 */
export interface ServerForTests<Address, Own> {
  address: Address;
  own: Own | undefined;
  /** Stops the server if the file started it. */
  stop(): Promise<void>;
}

function use<A, O extends { stop(): Promise<void> }>(
  external: A | undefined,
  start: () => Promise<O>,
  addressOf: (own: O) => A,
): Promise<ServerForTests<A, O>> {
  if (external !== undefined) return Promise.resolve({ address: external, own: undefined, stop: async () => {} });
  return start().then((own) => ({ address: addressOf(own), own, stop: () => own.stop() }));
}

/** Kafka brokers: `IDRA_TEST_KAFKA_BROKERS` (comma-separated host:port), or a throwaway broker. */
export function kafkaForTests(): Promise<ServerForTests<string[], KafkaServer>> {
  const env = process.env['IDRA_TEST_KAFKA_BROKERS'];
  const external = env
    ? env
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '')
    : undefined;
  return use(external, startKafka, (own) => own.brokers);
}

/** A MongoDB URL: `IDRA_TEST_MONGO_URL`, or a throwaway FerretDB. */
export function mongoForTests(): Promise<ServerForTests<string, MongoServer>> {
  return use(process.env['IDRA_TEST_MONGO_URL'] || undefined, startFerretdb, (own) => own.url);
}

/** Where an S3-compatible server is and how to sign in to it. */
export interface S3Address {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** An S3 endpoint: `IDRA_TEST_S3_URL` (`http://KEY:SECRET@host:port`, region `us-east-1`), or a throwaway s3rver. */
export function s3ForTests(): Promise<ServerForTests<S3Address, S3Server>> {
  const env = process.env['IDRA_TEST_S3_URL'];
  let external: S3Address | undefined;
  if (env) {
    const url = new URL(env);
    external = {
      url: `${url.protocol}//${url.host}`,
      accessKeyId: decodeURIComponent(url.username) || 'minioadmin',
      secretAccessKey: decodeURIComponent(url.password) || 'minioadmin',
      region: process.env['IDRA_TEST_S3_REGION'] || 'us-east-1',
    };
  }
  return use(external, startS3, (own) => ({ url: own.url, accessKeyId: own.accessKeyId, secretAccessKey: own.secretAccessKey, region: own.region }));
}

/** A real MongoDB replica set for change streams: `IDRA_TEST_MONGO_REPLSET_URL`; none can run on the build machines. */
export function mongoReplicaSetUrl(): string | undefined {
  return process.env['IDRA_TEST_MONGO_REPLSET_URL'] || undefined;
}
