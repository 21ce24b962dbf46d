import { Option, defineConnector, type ConnectorSpec } from '@idra/core';
import type { SqlDialect } from './dialect.ts';

/** Options every SQL dialect accepts; a dialect adds its own ({@link SqlDialect.options}). */
const SQL_OPTIONS = {
  poolSize: Option.integer('connections per sync', 4, { min: 1, max: 100 }),
  connectTimeoutMs: Option.duration('how long to wait for a connection', 10_000),
};

const specs = new WeakMap<SqlDialect, ConnectorSpec>();

/** The connector contract of a SQL dialect: a source reads a table or a query, a destination writes a table. */
export function sqlSpec(dialect: SqlDialect): ConnectorSpec {
  let spec = specs.get(dialect);
  if (!spec) {
    spec = defineConnector({
      kind: dialect.name,
      label: dialect.label,
      options: { ...SQL_OPTIONS, ...dialect.options },
      source: { fields: ['schema', 'table', 'query', 'columns'], required: [['table', 'query']] },
      destination: { fields: ['schema', 'table'], required: ['table'] },
    });
    specs.set(dialect, spec);
  }
  return spec;
}
