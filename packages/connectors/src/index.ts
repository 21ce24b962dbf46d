export { createConnectorRegistry, registerConnector, type ConnectorFactory } from './registry.ts';
export * from './sql/index.ts';
