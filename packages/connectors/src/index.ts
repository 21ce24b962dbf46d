export { createConnectorRegistry, registerConnector, type ConnectorFactory } from './registry.ts';
export * from './sql/index.ts';
export { testConnection, listTables, type ConnectionTestResult, type TableListing, type TestConnectionOptions } from './test-connection.ts';
// The kafka, mongodb, s3 and http connectors are reached through the registry, which loads them on
// first use; import their folders directly for their classes.
