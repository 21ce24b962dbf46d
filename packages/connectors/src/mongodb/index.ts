import type { Connector } from '@idra/core';
import { checkMongo, discoverMongo } from './mongodb-probe.ts';
import { MongoDestination } from './mongodb-destination.ts';
import { MongoSource } from './mongodb-source.ts';

export { MongoSource } from './mongodb-source.ts';
export { MongoChangeStreamSource } from './mongodb-change-stream.ts';
export { MongoDestination } from './mongodb-destination.ts';
export { resolveMongoConfig, type MongoConfig } from './mongodb-options.ts';
export { bsonToValue, rowToDocument, valueToBson } from './mongodb-values.ts';

/** MongoDB collections, as a source (`id`, `timestamp`, `full`, and `stream` via change streams) and a destination. */
export const mongodbConnector: Connector = {
  openSource: (ctx) => MongoSource.open(ctx),
  openDestination: (ctx) => MongoDestination.open(ctx),
  check: checkMongo,
  discover: discoverMongo,
};
