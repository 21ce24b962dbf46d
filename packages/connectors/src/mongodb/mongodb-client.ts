import { MongoClient, MongoParseError, type Collection, type Document } from 'mongodb';
import type { EndpointContext } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import type { MongoConfig } from './mongodb-options.ts';

/** A connected client (pooled per sync) and the endpoint's collection. */
export interface MongoConnection {
  client: MongoClient;
  collection: Collection<Document>;
}

/** Connects and checks that the server answers; errors come back as the connector's errors. */
export async function connectMongo(ctx: EndpointContext, config: MongoConfig): Promise<MongoConnection> {
  let client: MongoClient | undefined;
  try {
    client = new MongoClient(config.url, {
      maxPoolSize: config.poolSize,
      connectTimeoutMS: config.connectTimeoutMs,
      serverSelectionTimeoutMS: config.connectTimeoutMs,
      appName: 'idra',
    });
    await client.connect();
    const db = client.db(config.database);
    await db.command({ ping: 1 });
    return { client, collection: db.collection(config.collection) };
  } catch (err) {
    await client?.close().catch(() => {});
    throw mongoFailure(ctx, err);
  }
}

/** A driver error as the connector's error: a malformed URL is not retried, everything else is. */
export function mongoFailure(ctx: EndpointContext, err: unknown): Error {
  return connectorFailure(ctx, err, { transient: !(err instanceof MongoParseError) });
}

/** Whether the server can open change streams (a replica set member or a sharded cluster's router). */
export async function supportsChangeStreams(client: MongoClient): Promise<boolean> {
  const hello = await client.db('admin').command({ hello: 1 });
  return typeof hello['setName'] === 'string' || hello['msg'] === 'isdbgrid';
}
