import { agentOf, readOverviewQuery, rowsOf, type OverviewQuery, type OverviewSortKey } from '@idra/core/health';

export { agentOf, rowsOf };
export type SortKey = OverviewSortKey;
export type TableQuery = OverviewQuery;

/** Reads the table's state from the URL (so that back, reload and links keep it); a wrong value there means its default. */
export function parseTableQuery(params: URLSearchParams): TableQuery {
  return readOverviewQuery((name) => params.get(name)).query;
}
