import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CONNECTORS, MODES, SQL_CONNECTORS, modeInfo, type ConnectorKind } from '@idra/core/model';
import type { ChangeOptions, ConfigIssue, DataSource, OffsetScopeConflict, SourceCheck, Sync, TableListing } from '@idra/api-client';
import { IdraApiError } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useDataSources, useSyncConfig } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Page, Section } from '../components/Page.tsx';
import { Field } from '../components/Field.tsx';
import { ConnectionFields } from '../components/ConnectionFields.tsx';
import { BusyButton, ErrorNote, ErrorState, Loading, Spinner } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { CONNECTOR_LABELS, objectFieldsOf } from '../lib/connectors.ts';
import { configToDraft, draftToConfig, emptyDraft, type EndpointDraft, type SyncDraft } from '../lib/sync-draft.ts';
import { OffsetScopeDialog } from './OffsetScopeDialog.tsx';
import { draftToConnection } from '../lib/sync-draft.ts';
import { plainIssues } from '../lib/plain-issues.ts';

/** Pause after the last keystroke before the draft is sent to the validate endpoint. */
const VALIDATE_DELAY_MS = 1200;

type Validation = { ok: true; normalized: Sync } | { ok: false; issues: ConfigIssue[]; message: string };

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
function useValidation(draft: SyncDraft, checkpoint: number) {
  const client = useClient();
  const current = JSON.stringify(draftToConfig(draft));
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

/** Pause after the last change before the source is checked: the check opens a real connection. */
const CHECK_DELAY_MS = 800;

/**
 * What the agent would find on the source of a valid id/timestamp SQL sync (a source user that cannot
 * see other sessions' transactions stops it), refreshed once the draft settles.
 */
function useSourceCheck(draft: SyncDraft, valid: boolean) {
  const client = useClient();
  const relevant = valid && modeInfo(draft.mode).cursor && SQL_CONNECTORS.includes(draft.source.connector);
  const body = useDebounced(relevant ? JSON.stringify(draftToConfig(draft)) : '', CHECK_DELAY_MS);
  return useQuery({
    queryKey: ['check-source', body],
    queryFn: () => client.syncs.check(JSON.parse(body)),
    enabled: body !== '',
    staleTime: 30_000,
    retry: false,
  });
}

/** The source check's verdict, in the words an operator acts on. */
function SourceCheckNote({ check }: { check: { data?: SourceCheck | undefined; isFetching: boolean } }) {
  const r = check.data;
  if (check.isFetching && !r) {
    return (
      <p className="muted">
        <Spinner label="Checking the source" /> Checking what the source's user can see…
      </p>
    );
  }
  if (!r) return null;
  if (r.problem) {
    return (
      <div className="error-note" role="alert" data-testid="source-check">
        <strong>This sync would not start</strong> <span className="code">{r.problem.code}</span>
        <p>{r.problem.message}</p>
        {r.transactions?.grant && (
          <p>
            Run on the source: <code>{r.transactions.grant}</code>
          </p>
        )}
      </div>
    );
  }
  if (r.error) return <p className="muted" data-testid="source-check">The source could not be checked: {r.error}</p>;
  if (r.warning) {
    return (
      <p className="warning-note" role="status" data-testid="source-check">
        <strong>It will run, relying on the delay alone:</strong> {r.warning}
      </p>
    );
  }
  return (
    <p className="ok-text" data-testid="source-check">
      ✓ The source's user sees other sessions' transactions: rows they commit late are waited for.
    </p>
  );
}

type TableInfo = TableListing['tables'][number];

/** Saving stopped: the connection and table check found problems that were not acknowledged yet. */
class CheckRefusal extends Error {
  constructor(n: number) {
    super(`${n} problem(s) found by the check: fix them, or tick "I know; save anyway"`);
  }
}

interface CheckInput {
  draft: SyncDraft;
  sourceTables: TableInfo[];
  destinationTables: TableInfo[];
}

/** What a check found: problems to acknowledge before saving, and notes. */
interface CheckResult {
  draft: string;
  problems: string[];
  notes: string[];
}

/** Opens both connections for real and looks the tables and columns up, as the agent will. */
function useEndpointCheck() {
  const client = useClient();
  return useMutation({
    mutationFn: async ({ draft, sourceTables, destinationTables }: CheckInput): Promise<CheckResult> => {
      const problems: string[] = [];
      const notes: string[] = [];
      for (const [role, ep] of [['source', draft.source], ['destination', draft.destination]] as const) {
        const result = await (ep.via === 'dataSource'
          ? ep.dataSourceId
            ? client.dataSources.test(ep.dataSourceId)
            : Promise.resolve({ ok: false, error: 'no data source chosen' })
          : client.dataSources.testUnsaved({ id: 'form-check', connector: ep.connector, connection: draftToConnection(ep.connection) })
        ).catch((err: unknown) => ({ ok: false, error: (err as Error).message }));
        if (!result.ok) problems.push(`${role}: cannot connect: ${result.error ?? 'unknown error'}`);
      }
      const src = draft.source;
      if (SQL_CONNECTORS.includes(src.connector) && src.readFrom === 'table' && src.table.trim() && sourceTables.length > 0) {
        const table = sourceTables.find((t) => t.name === src.table.trim());
        if (!table) problems.push(`source: table '${src.table.trim()}' does not exist (there are ${sourceTables.map((t) => t.name).slice(0, 8).join(', ')})`);
        else {
          const known = new Set(table.columns.map((c) => c.name));
          const named = [draft.cursorColumn, draft.tiebreakerColumn, ...draft.keyColumns.split(','), ...draft.source.columns.split(',')].map((c) => c.trim()).filter(Boolean);
          for (const c of new Set(named)) if (!known.has(c)) problems.push(`source: table '${table.name}' has no column '${c}'`);
        }
      }
      const dst = draft.destination;
      if (SQL_CONNECTORS.includes(dst.connector) && dst.table.trim() && destinationTables.length > 0 && !destinationTables.some((t) => t.name === dst.table.trim())) {
        if (draft.createTable) notes.push(`destination table '${dst.table.trim()}' will be created`);
        else problems.push(`destination: table '${dst.table.trim()}' does not exist and creating it is off`);
      }
      return { draft: JSON.stringify(draft), problems, notes };
    },
  });
}

/** Tables of the endpoint's stored SQL data source, offered while typing (empty when unknown). */
function useTables(endpoint: EndpointDraft): TableInfo[] {
  const client = useClient();
  const canOperate = useCan('operator');
  const id = endpoint.via === 'dataSource' && SQL_CONNECTORS.includes(endpoint.connector) ? endpoint.dataSourceId : '';
  const listing = useQuery({
    queryKey: ['datasource-tables', id],
    queryFn: () => client.dataSources.tables(id),
    enabled: id !== '' && canOperate,
    staleTime: 60_000,
    retry: false,
  });
  return listing.data?.ok ? listing.data.tables : [];
}

/** The columns of the endpoint's table, when its data source listed it. */
function columnsOf(tables: TableInfo[], endpoint: EndpointDraft): TableInfo['columns'] {
  const table = tables.find((t) => t.name === endpoint.table.trim() && (!endpoint.schema.trim() || t.schema === endpoint.schema.trim()));
  return table?.columns ?? [];
}

interface EndpointProps {
  role: 'source' | 'destination';
  value: EndpointDraft;
  onChange: (v: EndpointDraft) => void;
  dataSources: DataSource[];
  tables: TableInfo[];
  issue: (path: string) => string | undefined;
}

function EndpointFields({ role, value, onChange, dataSources, tables, issue }: EndpointProps) {
  const set = (patch: Partial<EndpointDraft>) => onChange({ ...value, ...patch });
  const matching = dataSources.filter((d) => d.connector === value.connector);
  const sql = SQL_CONNECTORS.includes(value.connector);
  const at = (f: string) => issue(`${role}.${f}`);
  const field = (name: 'collection' | 'topic' | 'bucket' | 'prefix' | 'url', label: string, hint?: string) => (
    <Field key={name} label={label} hint={hint} error={at(name)}>
      {(p) => <input {...p} value={value[name]} onChange={(e) => set({ [name]: e.target.value })} spellCheck={false} />}
    </Field>
  );
  return (
    <fieldset className="endpoint">
      <legend>{role === 'source' ? 'Source: where rows are read' : 'Destination: where rows are written'}</legend>
      <div className="grid-2">
        <Field label="Connector" error={at('connector')}>
          {(p) => (
            <select {...p} value={value.connector} onChange={(e) => set({ connector: e.target.value as ConnectorKind, dataSourceId: '' })}>
              {CONNECTORS.map((c) => (
                <option key={c} value={c}>
                  {CONNECTOR_LABELS[c]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Data source"
          hint={matching.length === 0 ? <>No {CONNECTOR_LABELS[value.connector]} data source yet: <Link to="/datasources">add one</Link>, or give the connection here.</> : 'A named connection shared by syncs, or one written into this sync.'}
          error={at('dataSourceId') ?? (value.via === 'connection' ? undefined : at('connection'))}
        >
          {(p) => (
            <select
              {...p}
              value={value.via === 'connection' ? '__inline' : value.dataSourceId}
              onChange={(e) => (e.target.value === '__inline' ? set({ via: 'connection' }) : set({ via: 'dataSource', dataSourceId: e.target.value }))}
            >
              <option value="">— choose —</option>
              {matching.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name && d.name !== d.id ? `${d.name} (${d.id})` : d.id}
                </option>
              ))}
              <option value="__inline">Connection written into this sync…</option>
            </select>
          )}
        </Field>
      </div>
      {value.via === 'connection' && (
        <ConnectionFields connector={value.connector} value={value.connection} onChange={(connection) => set({ connection })} issue={(f) => at(`connection.${f}`) ?? (f === 'url' ? at('connection') : undefined)} />
      )}
      {sql ? (
        <>
          {role === 'source' && (
            <div className="segmented" role="radiogroup" aria-label="Read from">
              <label>
                <input type="radio" checked={value.readFrom === 'table'} onChange={() => set({ readFrom: 'table' })} /> A table
              </label>
              <label>
                <input type="radio" checked={value.readFrom === 'query'} onChange={() => set({ readFrom: 'query' })} /> A query
              </label>
            </div>
          )}
          <div className="grid-2">
            {(value.connector === 'postgres' || value.connector === 'mssql') && (
              <Field label="Schema" hint="Optional (default: the connection's)" error={at('schema')}>
                {(p) => <input {...p} value={value.schema} onChange={(e) => set({ schema: e.target.value })} spellCheck={false} />}
              </Field>
            )}
            {role === 'source' && value.readFrom === 'query' ? (
              <Field label="Query" className="span-2" hint="A SELECT; Idra wraps it as a sub-query and adds its cursor conditions." error={at('query') ?? at('table')}>
                {(p) => <textarea {...p} rows={4} className="mono" value={value.query} onChange={(e) => set({ query: e.target.value })} spellCheck={false} />}
              </Field>
            ) : (
              <Field
                label="Table"
                hint={role === 'destination' ? 'Created when missing (see below).' : tables.length > 0 ? `${tables.length} tables and views in this data source.` : undefined}
                error={at('table') ?? at('query')}
              >
                {(p) => (
                  <>
                    <input {...p} list={`${role}-tables`} value={value.table} onChange={(e) => set({ table: e.target.value })} spellCheck={false} />
                    <datalist id={`${role}-tables`}>
                      {tables.map((t) => (
                        <option key={`${t.schema ?? ''}.${t.name}`} value={t.name} label={t.schema ? `${t.schema}.${t.name}` : t.name} />
                      ))}
                    </datalist>
                  </>
                )}
              </Field>
            )}
            {role === 'source' && (
              <Field label="Columns" hint="Comma-separated; empty copies all columns." error={at('columns')}>
                {(p) => <input {...p} value={value.columns} onChange={(e) => set({ columns: e.target.value })} spellCheck={false} />}
              </Field>
            )}
          </div>
        </>
      ) : (
        <div className="grid-2">
          {objectFieldsOf(value.connector).map((f) =>
            f === 'collection' ? field('collection', 'Collection') : f === 'topic' ? field('topic', 'Topic') : f === 'bucket' ? field('bucket', 'Bucket') : f === 'prefix' ? field('prefix', 'Key prefix', 'Optional') : field('url', 'URL'),
          )}
        </div>
      )}
    </fieldset>
  );
}

/** The fields of each path the server may name, so that an issue lands under its field. */
const SHOWN_PATHS = /^(id|name|mode|cursorColumn|tiebreakerColumn|keyColumns|writeMode|batchSize|pollIntervalMs|delayMs|watermark|onError|createTable|(source|destination)\.(connector|dataSourceId|connection(\.\w+)?|schema|table|query|columns|collection|topic|bucket|prefix|url))$/;

/** Create or edit a sync, checked by the API's validate endpoint as the user types. */
export function SyncEditorScreen() {
  const { id: editId } = useParams();
  const editing = editId !== undefined;
  const existing = useSyncConfig(editId ?? '', editing);
  const dataSources = useDataSources();
  if (editing && existing.isPending) return <Loading what={`sync ${editId}`} />;
  if (editing && existing.isError) return <ErrorState error={existing.error} what={`sync ${editId}`} onRetry={() => void existing.refetch()} />;
  return <SyncEditor key={editId ?? 'new'} initial={editing && existing.data ? configToDraft(existing.data) : emptyDraft()} editing={editing} dataSources={dataSources.data ?? []} />;
}

function SyncEditor({ initial, editing, dataSources }: { initial: SyncDraft; editing: boolean; dataSources: DataSource[] }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const notify = useNotify();
  const canOperate = useCan('operator');
  const [draft, setDraft] = useState<SyncDraft>(initial);
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set(editing ? ['*'] : []));
  const [checkpoint, setCheckpoint] = useState(0);
  const validation = useValidation(draft, checkpoint);
  const sourceCheck = useSourceCheck(draft, validation.data?.ok === true);
  const sourceTables = useTables(draft.source);
  const destinationTables = useTables(draft.destination);
  const check = useEndpointCheck();
  const checkedDraft = JSON.stringify(draft);
  const checkResult = check.data?.draft === checkedDraft ? check.data : undefined;
  const [acknowledged, setAcknowledged] = useState(false);
  const sourceColumns = columnsOf(sourceTables, draft.source);
  const primaryKey = sourceColumns.filter((c) => c.primaryKey).map((c) => c.name);
  // Set when saving would move what the stored offset points into: the choice is asked, then the save is sent again with it.
  const [scopeConflict, setScopeConflict] = useState<OffsetScopeConflict>();
  const save = useMutation({
    mutationFn: async ({ paused, ...opts }: ChangeOptions & { paused?: boolean } = {}) => {
      const config = draftToConfig(paused ? { ...draft, enabled: false } : draft);
      // The fields first (every problem at once), then connections and tables: what is wrong there must be acknowledged.
      await client.syncs.validate(config);
      const result = checkResult ?? (await check.mutateAsync({ draft, sourceTables, destinationTables }));
      if (result.problems.length > 0 && !acknowledged) throw new CheckRefusal(result.problems.length);
      return editing ? client.syncs.put(config, opts) : client.syncs.create(config, opts);
    },
    onSuccess: (s) => {
      void queryClient.invalidateQueries({ queryKey: keys.overview });
      queryClient.setQueryData(keys.sync(s.id), s);
      notify('ok', editing ? `Sync ${s.id} saved.` : `Sync ${s.id} created.`);
      void navigate(`/syncs/${encodeURIComponent(s.id)}`);
    },
    onError: (err) => {
      setTouched(new Set(['*']));
      if (err instanceof IdraApiError && err.code === 'IDRA_ERR_OFFSET_SCOPE_CHANGED') setScopeConflict(err.details as unknown as OffsetScopeConflict);
    },
  });
  // Once the problems are shown, the keyboard and screen reader start at the first one.
  useEffect(() => {
    if (save.error && issuesOf(save.error).length > 0) document.querySelector<HTMLElement>('.sync-form [aria-invalid="true"]')?.focus();
  }, [save.error]);

  const issues = useMemo(() => {
    if (save.error) return plainIssues(issuesOf(save.error));
    return validation.data && !validation.data.ok ? validation.data.issues : [];
  }, [validation.data, save.error]);
  const shown = (path: string) => touched.has('*') || [...touched].some((t) => path === t || path.startsWith(`${t}.`));
  const issue = (path: string) => (shown(path) ? issues.find((i) => i.path === path)?.message : undefined);
  const unplaced = issues.filter((i) => !SHOWN_PATHS.test(i.path));

  // Marks what the user edited, so that a new form is not covered in "is required" at once.
  const change = (patch: Partial<SyncDraft>, ...paths: string[]) => {
    setDraft((d) => ({ ...d, ...patch }));
    setAcknowledged(false);
    setTouched((t) => new Set([...t, ...(paths.length ? paths : Object.keys(patch))]));
    if (save.error) save.reset();
  };
  const d = draft;
  const { cursor, timestamp } = modeInfo(d.mode);
  const normalized = validation.data?.ok ? validation.data.normalized : undefined;
  const title = editing ? `Edit sync ${initial.id}` : 'New sync';

  if (!canOperate) {
    return (
      <Page title={title}>
        <p>Your role can read syncs but not change them.</p>
      </Page>
    );
  }
  return (
    <Page title={title} subtitle="Checked by the API when you leave a field; connections and tables are tested before it is saved.">
      <form
        className="sync-form"
        noValidate
        onBlur={() => setCheckpoint((n) => n + 1)}
        onChange={(e) => {
          const t = e.target as unknown as HTMLInputElement;
          if (t.tagName === 'SELECT' || t.type === 'checkbox' || t.type === 'radio') setCheckpoint((n) => n + 1);
        }}
        onSubmit={(e) => {
          e.preventDefault();
          setTouched(new Set(['*']));
          const paused = (e.nativeEvent as SubmitEvent).submitter?.getAttribute('data-paused') === 'true';
          save.mutate({ paused });
        }}
      >
        <Section title="Sync">
          <div className="grid-2">
            <Field label="Id" hint="Letters, digits, _ . - ; names the offset, cannot change later." error={issue('id')}>
              {(p) => <input {...p} value={d.id} onChange={(e) => change({ id: e.target.value })} readOnly={editing} required spellCheck={false} autoComplete="off" />}
            </Field>
            <Field label="Name" hint="Optional, shown in lists." error={issue('name')}>
              {(p) => <input {...p} value={d.name} onChange={(e) => change({ name: e.target.value })} />}
            </Field>
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={d.enabled} onChange={(e) => change({ enabled: e.target.checked })} /> Enabled (an agent runs it as soon as it is saved)
          </label>
        </Section>
        <Section title="Source and destination">
          <EndpointFields role="source" value={d.source} onChange={(source) => change({ source }, 'source')} dataSources={dataSources} tables={sourceTables} issue={issue} />
          <EndpointFields
            role="destination"
            value={d.destination}
            onChange={(destination) => change({ destination }, 'destination')}
            dataSources={dataSources}
            tables={destinationTables}
            issue={issue}
          />
        </Section>
        <Section title="How rows are followed">
          <fieldset className="modes">
            <legend>Mode</legend>
            {MODES.map((m) => (
              <label key={m} className={`mode-option${d.mode === m ? ' selected' : ''}`}>
                <input type="radio" name="mode" value={m} checked={d.mode === m} onChange={() => change({ mode: m })} />
                <span>
                  <strong>{modeInfo(m).label}</strong> <code>{m}</code>
                  <span className="hint">{modeInfo(m).help}</span>
                </span>
              </label>
            ))}
          </fieldset>
          {issue('mode') && <p className="error-text">{issue('mode')}</p>}
          <div className="grid-3">
            {cursor && (
              <Field label="Cursor column" hint={timestamp ? 'A last-modified timestamp column.' : 'An increasing integer column, e.g. id.'} error={issue('cursorColumn')}>
                {(p) => <input {...p} list="source-columns" value={d.cursorColumn} onChange={(e) => change({ cursorColumn: e.target.value })} spellCheck={false} />}
              </Field>
            )}
            {timestamp && (
              <Field label="Tiebreaker column" hint="Unique, orders rows with equal timestamps (default: the single key column)." error={issue('tiebreakerColumn')}>
                {(p) => <input {...p} list="source-columns" value={d.tiebreakerColumn} onChange={(e) => change({ tiebreakerColumn: e.target.value })} spellCheck={false} />}
              </Field>
            )}
            <Field
              label="Key columns"
              hint={`Comma-separated primary key: upsert target, full-mode paging.${primaryKey.length > 0 ? ` The source table's primary key: ${primaryKey.join(', ')}.` : ''}`}
              error={issue('keyColumns')}
            >
              {(p) => <input {...p} value={d.keyColumns} placeholder={primaryKey.join(', ')} onChange={(e) => change({ keyColumns: e.target.value })} spellCheck={false} />}
            </Field>
          </div>
          <datalist id="source-columns">
            {sourceColumns.map((c) => (
              <option key={c.name} value={c.name} label={`${c.type}${c.primaryKey ? ', primary key' : ''}`} />
            ))}
          </datalist>
        </Section>
        <Section title="Writing and pacing">
          <div className="grid-3">
            <Field label="Write mode" hint="insert keeps rows whose key exists; upsert overwrites them." error={issue('writeMode')}>
              {(p) => (
                <select {...p} value={d.writeMode} onChange={(e) => change({ writeMode: e.target.value as SyncDraft['writeMode'] })}>
                  <option value="insert">insert</option>
                  <option value="upsert">upsert</option>
                </select>
              )}
            </Field>
            <Field label="Batch size" hint="Rows per read, transaction and offset commit (default 1000)." error={issue('batchSize')}>
              {(p) => <input {...p} inputMode="numeric" placeholder="1000" value={d.batchSize} onChange={(e) => change({ batchSize: e.target.value })} />}
            </Field>
            <Field label="Poll interval" hint='Pause after a short batch: ms or "500ms", "5s", "1m" (default 5s).' error={issue('pollIntervalMs')}>
              {(p) => <input {...p} placeholder="5s" value={d.pollInterval} onChange={(e) => change({ pollInterval: e.target.value }, 'pollIntervalMs')} />}
            </Field>
            {cursor && (
              <Field
                label="Delay"
                hint="Rows newer than the database's now() minus this wait for a later poll (default 0). A source that cannot see other sessions' transactions needs it: the longest time a write transaction stays open."
                error={issue('delayMs')}
              >
                {(p) => <input {...p} placeholder="0" value={d.delay} onChange={(e) => change({ delay: e.target.value }, 'delayMs')} />}
              </Field>
            )}
            <Field label="When the destination rejects a row" error={issue('onError')}>
              {(p) => (
                <select {...p} value={d.onError} onChange={(e) => change({ onError: e.target.value as SyncDraft['onError'] })}>
                  <option value="stop">stop the sync (default)</option>
                  <option value="skip">set the row aside and go on</option>
                </select>
              )}
            </Field>
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={d.createTable} onChange={(e) => change({ createTable: e.target.checked })} /> Create the destination table when it is missing
          </label>
          {cursor && (
            <>
              <label className="checkbox">
                <input type="checkbox" checked={d.delayOnly} onChange={(e) => change({ delayOnly: e.target.checked }, 'watermark')} />
                <span>
                  Where the source cannot see other sessions' transactions, rely on the delay alone (<code>watermark: "delay-only"</code>): rows they commit later
                  than the delay may be skipped
                </span>
              </label>
              <SourceCheckNote check={sourceCheck} />
            </>
          )}
        </Section>
        <div className="form-footer" aria-live="polite">
          <div className="validation-summary">
            {validation.isFetching ? (
              <span>
                <Spinner label="Checking" /> Checking…
              </span>
            ) : validation.isError ? (
              <ErrorNote error={validation.error} />
            ) : normalized ? (
              <span className="ok-text">
                ✓ Valid: batches of {normalized.batchSize}, poll every {normalized.pollIntervalMs} ms, {normalized.writeMode}, on error {normalized.onError}
                {normalized.tiebreakerColumn ? `, tiebreaker ${normalized.tiebreakerColumn}` : ''}
              </span>
            ) : issues.length > 0 ? (
              <span className="error-text">
                {issues.length} problem{issues.length === 1 ? '' : 's'} to fix{touched.has('*') ? '' : ' (shown as you fill in the fields)'}
              </span>
            ) : null}
            {unplaced.length > 0 && touched.size > 0 && (
              <ul className="issues">
                {unplaced.map((i) => (
                  <li key={`${i.path}:${i.message}`}>
                    {i.path && <code>{i.path}</code>} {i.message}
                  </li>
                ))}
              </ul>
            )}
            {save.error && !(save.error instanceof IdraApiError && save.error.status === 400) && !(save.error instanceof CheckRefusal) ? <ErrorNote error={save.error} /> : null}
            {checkResult && (
              <div className={checkResult.problems.length ? 'warning-note' : 'ok-text'} role="status">
                {checkResult.problems.length === 0 ? (
                  <span>✓ Connections work; the tables and columns exist ({checkResult.notes.join('; ') || 'nothing to note'}).</span>
                ) : (
                  <>
                    <strong>Check before saving:</strong>
                    <ul className="issues">
                      {checkResult.problems.map((p) => (
                        <li key={p}>{p}</li>
                      ))}
                    </ul>
                    <label className="checkbox">
                      <input type="checkbox" checked={acknowledged} onChange={(e) => setAcknowledged(e.target.checked)} /> I know; save anyway
                    </label>
                  </>
                )}
              </div>
            )}
          </div>
          <div className="form-actions">
            <Link className="button" to={editing ? `/syncs/${encodeURIComponent(initial.id)}` : '/syncs'}>
              Cancel
            </Link>
            <BusyButton type="button" busy={check.isPending} busyLabel="Checking…" onClick={() => check.mutate({ draft, sourceTables, destinationTables })}>
              Test connections and tables
            </BusyButton>
            <BusyButton type="submit" data-paused="true" busy={save.isPending && save.variables?.paused === true} busyLabel="Saving…">
              {editing ? 'Save paused' : 'Create paused'}
            </BusyButton>
            <BusyButton type="submit" className="primary" busy={save.isPending && save.variables?.paused !== true} busyLabel="Saving…">
              {editing ? 'Save' : 'Create and start'}
            </BusyButton>
          </div>
        </div>
      </form>
      {scopeConflict && (
        <OffsetScopeDialog
          syncId={draft.id}
          conflict={scopeConflict}
          enabled={initial.enabled}
          onClose={() => setScopeConflict(undefined)}
          onDecide={(opts) => {
            setScopeConflict(undefined);
            save.mutate(opts);
          }}
        />
      )}
    </Page>
  );
}
