export { createConnectorRegistry, registerConnector, type ConnectorFactory } from './registry.ts';
export * from './sql/index.ts';
export { testConnection, type ConnectionTestResult, type TestConnectionOptions } from './test-connection.ts';
export * from './kafka/index.ts';
export * from './mongodb/index.ts';
export * from './s3/index.ts';
export * from './http/index.ts';
export { guardUndecodable, undecodableRow } from './records/undecodable.ts';
