import { MongoClient, MongoParseError, type Collection, type Document, type MongoClientOptions } from 'mongodb';
import type { EndpointContext } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import { assertDatabaseHosts, databaseLookup } from '../records/address-guard.ts';
import type { MongoConfig } from './mongodb-options.ts';

/** A connected client (pooled per sync) and the endpoint's collection. */
export interface MongoConnection {
  client: MongoClient;
  collection: Collection<Document>;
}

/**
 * A client that refuses link-local targets (cloud metadata): the URL's hosts by address before
 * connecting, every name (also of replica set members the server announces) after DNS resolution.
 */
export function guardedMongoClient(url: string, options: MongoClientOptions): MongoClient {
  const hosts = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/.exec(url)?.[1];
  assertDatabaseHosts(hosts ? hosts.split(',') : []);
  return new MongoClient(url, { ...options, lookup: databaseLookup });
}

/** Connects and checks that the server answers; errors come back as the connector's errors. */
export async function connectMongo(ctx: EndpointContext, config: MongoConfig): Promise<MongoConnection> {
  let client: MongoClient | undefined;
  try {
    client = guardedMongoClient(config.url, {
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
