import { resolveOptions, type Connection, type DiscoveredObject, type ProbeOptions } from '@idra/core';
import type { Admin } from 'kafkajs';
import { createKafka } from './kafka-client.ts';
import { kafkaClientSettings, kafkaSpec } from './kafka-options.ts';

/** Runs `fn` with an admin client of the connection's brokers, disconnected afterwards. */
async function withAdmin<T>(connection: Connection, opts: ProbeOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const settings = kafkaClientSettings(connection, 'connection', resolveOptions(kafkaSpec.options, {}));
  const admin = createKafka({ ...settings, connectTimeoutMs: Math.min(settings.connectTimeoutMs, opts.timeoutMs) }).admin();
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Connects to the brokers and reads the cluster's topic list. */
export async function checkKafka(connection: Connection, opts: ProbeOptions): Promise<void> {
  await withAdmin(connection, opts, (admin) => admin.listTopics());
}

/** The topics of the cluster (Kafka's internal ones left out); their messages carry their own columns. */
export async function discoverKafka(connection: Connection, opts: ProbeOptions): Promise<DiscoveredObject[]> {
  const topics = await withAdmin(connection, opts, (admin) => admin.listTopics());
  return topics
    .filter((t) => !t.startsWith('__'))
    .sort()
    .map((name) => ({ name, columns: [] }));
}
