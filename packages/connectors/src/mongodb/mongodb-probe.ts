import type { Db, MongoClient } from 'mongodb';
import type { Connection, DiscoveredObject, ProbeOptions } from '@idra/core';
import { recordColumns } from '../records/json-records.ts';
import { mongoDatabase, mongoUrl } from './mongodb-options.ts';
import { guardedMongoClient } from './mongodb-client.ts';
import { documentToRecord, RAW_BSON } from './mongodb-values.ts';

/** Databases of the server that are MongoDB's own. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/** Runs `fn` with a one-connection client of the connection, closed afterwards. */
async function withClient<T>(connection: Connection, opts: ProbeOptions, fn: (client: MongoClient, database: string | undefined) => Promise<T>): Promise<T> {
  const url = mongoUrl(connection, 'connection');
  const client = guardedMongoClient(url, { maxPoolSize: 1, connectTimeoutMS: opts.timeoutMs, serverSelectionTimeoutMS: opts.timeoutMs, appName: 'idra' });
  try {
    await client.connect();
    return await fn(client, mongoDatabase(connection, url));
  } finally {
    await client.close().catch(() => {});
  }
}

/** Connects and pings the connection's database (`admin` when it names none). */
export async function checkMongo(connection: Connection, opts: ProbeOptions): Promise<void> {
  await withClient(connection, opts, (client, database) => client.db(database ?? 'admin').command({ ping: 1 }));
}

async function collectionsOf(db: Db): Promise<DiscoveredObject[]> {
  const listed = await db.listCollections({}, { nameOnly: true }).toArray();
  const names = listed
    .map((c) => c.name)
    .filter((n) => !n.startsWith('system.'))
    .sort();
  return Promise.all(
    names.map(async (name) => {
      // A collection declares no columns: one document shows the fields (and their types) a sync would see.
      const sample = await db.collection(name).findOne({}, RAW_BSON);
      const columns = sample ? recordColumns([documentToRecord(sample)]) : [];
      return { schema: db.databaseName, name, columns: columns.map((c) => ({ name: c.name, type: c.type, primaryKey: c.name === '_id' })) };
    }),
  );
}

/** The collections of the connection's database (of every user database when it names none), each with a sampled document's fields. */
export async function discoverMongo(connection: Connection, opts: ProbeOptions): Promise<DiscoveredObject[]> {
  return withClient(connection, opts, async (client, database) => {
    const databases = database
      ? [database]
      : (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name).filter((n) => !SYSTEM_DATABASES.has(n));
    return (await Promise.all(databases.map((name) => collectionsOf(client.db(name))))).flat();
  });
}
