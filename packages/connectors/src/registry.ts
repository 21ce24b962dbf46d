import { ConfigError, type ConnectorRegistry, type Destination, type EndpointContext, type Source } from '@idra/core';
import { SQL_DIALECTS, SqlSource, SqlDestination, type SqlDialectName } from './sql/index.ts';

/** Opens a source or destination of a given connector kind. */
export interface ConnectorFactory {
  openSource?(ctx: EndpointContext): Promise<Source>;
  openDestination?(ctx: EndpointContext): Promise<Destination>;
}

const factories = new Map<string, ConnectorFactory>();
for (const [name, dialect] of Object.entries(SQL_DIALECTS) as Array<[SqlDialectName, (typeof SQL_DIALECTS)[SqlDialectName]]>) {
  factories.set(name, {
    openSource: (ctx) => SqlSource.open(dialect, ctx),
    openDestination: (ctx) => SqlDestination.open(dialect, ctx),
  });
}
/**
 * A connector whose module (and driver: kafkajs, mongodb, the AWS SDK …) is loaded on first use, so
 * an agent that runs only SQL syncs does not pay their start-up time and memory.
 */
function lazy(load: () => Promise<ConnectorFactory>): ConnectorFactory {
  let loaded: Promise<ConnectorFactory> | undefined;
  const get = () => (loaded ??= load());
  return {
    async openSource(ctx) {
      const open = (await get()).openSource;
      if (!open) throw unsupported(ctx);
      return open(ctx);
    },
    async openDestination(ctx) {
      const open = (await get()).openDestination;
      if (!open) throw unsupported(ctx);
      return open(ctx);
    },
  };
}
factories.set('kafka', lazy(async () => (await import('./kafka/index.ts')).kafkaConnector));
factories.set('mongodb', lazy(async () => (await import('./mongodb/index.ts')).mongodbConnector));
factories.set('s3', lazy(async () => (await import('./s3/index.ts')).s3Connector));
factories.set('http', lazy(async () => (await import('./http/index.ts')).httpConnector));

/** Adds (or replaces) the factory of a connector kind. */
export function registerConnector(kind: string, factory: ConnectorFactory): void {
  factories.set(kind, factory);
}

function unsupported(ctx: EndpointContext): ConfigError {
  return new ConfigError([{ path: `${ctx.role}.connector`, message: `connector '${ctx.endpoint.connector}' cannot be a ${ctx.role} (not available in this build)` }]);
}

/** The registry the agent runs syncs with: every connector this package provides. */
export function createConnectorRegistry(): ConnectorRegistry {
  return {
    async openSource(ctx) {
      const open = factories.get(ctx.endpoint.connector)?.openSource;
      if (!open) throw unsupported(ctx);
      return open(ctx);
    },
    async openDestination(ctx) {
      const open = factories.get(ctx.endpoint.connector)?.openDestination;
      if (!open) throw unsupported(ctx);
      return open(ctx);
    },
  };
}
