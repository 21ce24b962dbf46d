export { CONNECTOR_SPECS } from './catalogue.ts';
export { createConnectorRegistry, loadConnector } from './registry.ts';
export { testConnection, checkSource, discover, releaseSource, type ConnectionTestResult, type TableListing, type TestConnectionOptions } from './probe.ts';
export * from './sql/index.ts';
// The kafka, mongodb, s3 and http connectors are reached through the registry, which loads them on
// first use; import their folders directly for their classes.
export { confineSqliteFiles, sqliteRootsFrom } from './sql/sqlite/sqlite-paths.ts';
