import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { ResolvedEndpoint } from '@idra/core';

/** Name of the derived table that wraps a `query` source. */
const QUERY_ALIAS = 'idra_src';

/** `select … from` the endpoint's table (schema-qualified) or its query wrapped as a derived table. */
export function selectFromEndpoint(db: Kysely<any>, ep: ResolvedEndpoint): SelectQueryBuilder<any, any, object> {
  if (ep.query !== undefined) {
    // The query is the operator's own SQL, run as written; every value Idra adds is a bound parameter.
    return db.selectFrom(sql`(${sql.raw(ep.query)})`.as(QUERY_ALIAS));
  }
  return (ep.schema ? db.withSchema(ep.schema) : db).selectFrom(ep.table!);
}
