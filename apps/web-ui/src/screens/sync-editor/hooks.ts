import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { SQL_CONNECTORS, modeInfo } from '@idra/core/model';
import { IdraApiError, type ConfigIssue, type Sync, type TableListing } from '@idra/api-client';
import { useClient } from '../../api/client-context.tsx';
import { issuesOf } from '../../api/errors.ts';
import { useCan } from '../../api/session.tsx';
import { plainIssues } from '../../lib/plain-issues.ts';
import { draftToConfig, draftToConnection, fieldsOf, type Catalogue, type EndpointDraft, type SyncDraft } from '../../lib/sync-draft.ts';

/** Pause after the last keystroke before the draft is sent to the validate endpoint. */
const VALIDATE_DELAY_MS = 1200;
/** Pause after the last change before the source is checked: the check opens a real connection. */
const CHECK_DELAY_MS = 800;

export type Validation = { ok: true; normalized: Sync } | { ok: false; issues: ConfigIssue[]; message: string };
export type TableInfo = TableListing['tables'][number];

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * The server's verdict on the draft: asked when a field is left, a choice is made, or typing pauses
 * for a while — not on every keystroke.
 */
export function useValidation(draft: SyncDraft, checkpoint: number, catalogue: Catalogue) {
  const client = useClient();
  const current = JSON.stringify(draftToConfig(draft, catalogue));
  const paused = useDebounced(current, VALIDATE_DELAY_MS);
  const [atCheckpoint, setAtCheckpoint] = useState(current);
  // The draft as it was at the last checkpoint (a field left, a choice made): deliberately not on every change.
  useEffect(() => setAtCheckpoint(current), [checkpoint]); // eslint-disable-line react-hooks/exhaustive-deps
  const body = paused === current ? current : atCheckpoint;
  return useQuery({
    queryKey: ['validate', body],
    queryFn: async (): Promise<Validation> => {
      try {
        const r = await client.syncs.validate(JSON.parse(body));
        return { ok: true, normalized: r.normalized };
      } catch (err) {
        if (err instanceof IdraApiError && err.status === 400) return { ok: false, issues: plainIssues(issuesOf(err)), message: err.message };
        throw err;
      }
    },
    staleTime: Infinity,
    retry: false,
    placeholderData: (previous) => previous,
  });
}

/**
 * What the agent would find on the source of a valid id/timestamp SQL sync (a source user that cannot
 * see other sessions' transactions stops it), refreshed once the draft settles.
 */
export function useSourceCheck(draft: SyncDraft, valid: boolean, catalogue: Catalogue) {
  const client = useClient();
  const relevant = valid && modeInfo(draft.mode).cursor && SQL_CONNECTORS.includes(draft.source.connector);
  const body = useDebounced(relevant ? JSON.stringify(draftToConfig(draft, catalogue)) : '', CHECK_DELAY_MS);
  return useQuery({
    queryKey: ['check-source', body],
    queryFn: () => client.syncs.check(JSON.parse(body)),
    enabled: body !== '',
    staleTime: 30_000,
    retry: false,
  });
}

/** Saving stopped: the connection and table check found problems that were not acknowledged yet. */
export class CheckRefusal extends Error {
  constructor(n: number) {
    super(`${n} problem(s) found by the check: fix them, or tick "I know; save anyway"`);
  }
}

export interface CheckInput {
  draft: SyncDraft;
  sourceTables: TableInfo[];
  destinationTables: TableInfo[];
}

/** What a check found: problems to acknowledge before saving, and notes. */
export interface CheckResult {
  draft: string;
  problems: string[];
  notes: string[];
}

/** Opens both connections for real and looks the tables and columns up, as the agent will. */
export function useEndpointCheck(catalogue: Catalogue) {
  const client = useClient();
  return useMutation({
    mutationFn: async ({ draft, sourceTables, destinationTables }: CheckInput): Promise<CheckResult> => {
      const problems: string[] = [];
      const notes: string[] = [];
      for (const [role, ep] of [
        ['source', draft.source],
        ['destination', draft.destination],
      ] as const) {
        const result = await (
          ep.via === 'dataSource'
            ? ep.dataSourceId
              ? client.dataSources.test(ep.dataSourceId)
              : Promise.resolve({ ok: false, error: 'no data source chosen' })
            : client.dataSources.testUnsaved({ id: 'form-check', connector: ep.connector, connection: draftToConnection(ep.connection) })
        ).catch((err: unknown) => ({ ok: false, error: (err as Error).message }));
        if (!result.ok) problems.push(`${role}: cannot connect: ${result.error ?? 'unknown error'}`);
      }
      const src = draft.source;
      if (fieldsOf(catalogue, src.connector, 'source').includes('table') && src.readFrom === 'table' && src.table.trim() && sourceTables.length > 0) {
        const table = sourceTables.find((t) => t.name === src.table.trim());
        if (!table)
          problems.push(
            `source: table '${src.table.trim()}' does not exist (there are ${sourceTables
              .map((t) => t.name)
              .slice(0, 8)
              .join(', ')})`,
          );
        else {
          const known = new Set(table.columns.map((c) => c.name));
          const named = [draft.cursorColumn, draft.tiebreakerColumn, ...draft.keyColumns.split(','), ...draft.source.columns.split(',')]
            .map((c) => c.trim())
            .filter(Boolean);
          for (const c of new Set(named)) if (!known.has(c)) problems.push(`source: table '${table.name}' has no column '${c}'`);
        }
      }
      const dst = draft.destination;
      const destinationTable = fieldsOf(catalogue, dst.connector, 'destination').includes('table') && dst.table.trim();
      if (destinationTable && destinationTables.length > 0 && !destinationTables.some((t) => t.name === destinationTable)) {
        if (draft.createTable) notes.push(`destination table '${destinationTable}' will be created`);
        else problems.push(`destination: table '${destinationTable}' does not exist and creating it is off`);
      }
      return { draft: JSON.stringify(draft), problems, notes };
    },
  });
}

/** What the endpoint's stored data source holds (tables, collections, topics, prefixes …), offered while typing; empty when unknown. */
export function useTables(endpoint: EndpointDraft): TableInfo[] {
  const client = useClient();
  const canOperate = useCan('operator');
  const id = endpoint.via === 'dataSource' ? endpoint.dataSourceId : '';
  const listing = useQuery({
    queryKey: ['datasource-tables', id],
    queryFn: () => client.dataSources.tables(id),
    enabled: id !== '' && canOperate,
    staleTime: 60_000,
    retry: false,
  });
  return listing.data?.ok ? listing.data.tables : [];
}

/** The listed object the endpoint names (its table, collection, topic or prefix), when its data source listed it. */
export function listedObject(tables: TableInfo[], endpoint: EndpointDraft, fields: readonly string[]): TableInfo | undefined {
  const nameField = (['table', 'collection', 'topic', 'prefix', 'url'] as const).find((f) => fields.includes(f));
  if (!nameField) return undefined;
  const name = endpoint[nameField].trim();
  const schema = (fields.includes('bucket') ? endpoint.bucket : endpoint.schema).trim();
  return tables.find((t) => t.name === name && (!schema || t.schema === schema));
}
