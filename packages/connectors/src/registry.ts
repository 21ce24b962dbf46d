import { ConfigError, type Connector, type ConnectorKind, type ConnectorRegistry, type EndpointContext } from '@idra/core';
import { SQL_DIALECTS } from './sql/index.ts';
import { sqlConnector } from './sql/sql-connector.ts';

/**
 * Each connector's implementation, loaded on first use: an agent that runs only SQL syncs does not
 * pay the start-up time and memory of kafkajs, mongodb or the AWS SDK (SQL drivers, too, load with
 * their first connection).
 */
const LOADERS: Record<ConnectorKind, () => Promise<Connector>> = {
  postgres: async () => sqlConnector(SQL_DIALECTS.postgres),
  mysql: async () => sqlConnector(SQL_DIALECTS.mysql),
  sqlite: async () => sqlConnector(SQL_DIALECTS.sqlite),
  mssql: async () => sqlConnector(SQL_DIALECTS.mssql),
  mongodb: async () => (await import('./mongodb/index.ts')).mongodbConnector,
  kafka: async () => (await import('./kafka/index.ts')).kafkaConnector,
  s3: async () => (await import('./s3/index.ts')).s3Connector,
  http: async () => (await import('./http/index.ts')).httpConnector,
};

const loaded = new Map<ConnectorKind, Promise<Connector>>();

/** The implementation of a connector kind, loading its module (and driver) the first time. */
export function loadConnector(kind: ConnectorKind): Promise<Connector> {
  let connector = loaded.get(kind);
  if (!connector) {
    connector = LOADERS[kind]();
    // A failed load (a driver missing from the build) is tried again next time.
    connector.catch(() => loaded.delete(kind));
    loaded.set(kind, connector);
  }
  return connector;
}

function unsupported(ctx: EndpointContext): ConfigError {
  return new ConfigError([{ path: `${ctx.role}.connector`, message: `the ${ctx.endpoint.connector} connector cannot be a ${ctx.role}` }]);
}

/** The registry the agent runs syncs with: every connector this package provides. */
export function createConnectorRegistry(): ConnectorRegistry {
  return {
    async openSource(ctx) {
      const { openSource } = await loadConnector(ctx.endpoint.connector);
      if (!openSource) throw unsupported(ctx);
      return openSource(ctx);
    },
    async openDestination(ctx) {
      const { openDestination } = await loadConnector(ctx.endpoint.connector);
      if (!openDestination) throw unsupported(ctx);
      return openDestination(ctx);
    },
  };
}
