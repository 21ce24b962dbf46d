/** Every connector kind an endpoint or data source can name; each has a folder in packages/connectors. */
export const CONNECTORS = ['postgres', 'mysql', 'sqlite', 'mssql', 'mongodb', 'kafka', 's3', 'http'] as const;
export type ConnectorKind = (typeof CONNECTORS)[number];

/** The connectors built on the shared SQL implementation (one dialect each). */
export const SQL_CONNECTORS: readonly ConnectorKind[] = ['postgres', 'mysql', 'sqlite', 'mssql'];
