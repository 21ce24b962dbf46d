import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { planBulkSyncs, reviseSync, type BulkRowEdit, type BulkSettings } from '@idra/core/bulk';
import { useClient } from '../api/client-context.tsx';
import { keys, useDataSources } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Page, Section } from '../components/Page.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { BulkReviewRow } from '../components/BulkReviewRow.tsx';
import { SQL_CONNECTORS } from '@idra/core/model';

interface BulkItemProblem {
  index: number;
  id?: string;
  issues: Array<{ path: string; message: string }>;
}

/** Many syncs at once: discover a data source's tables, pick them, share the settings, review what was detected per table. */
export function BulkCreateScreen() {
  const client = useClient();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const notify = useNotify();
  const canOperate = useCan('operator');
  const dataSources = useDataSources();
  const sql = (dataSources.data ?? []).filter((d) => SQL_CONNECTORS.includes(d.connector));
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const [filter, setFilter] = useState('');
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [mode, setMode] = useState<BulkSettings['mode']>('id');
  const [writeMode, setWriteMode] = useState<'insert' | 'upsert'>('upsert');
  const [idPrefix, setIdPrefix] = useState('');
  const [tablePrefix, setTablePrefix] = useState('');
  const [start, setStart] = useState(false);
  /** The reviewer's changes per table, over what the shared settings and detection planned. */
  const [edits, setEdits] = useState<Readonly<Record<string, BulkRowEdit>>>({});
  const tables = useQuery({ queryKey: ['datasource-tables', source], queryFn: () => client.dataSources.tables(source), enabled: source !== '', retry: false });
  const listed = useMemo(() => (tables.data?.ok ? tables.data.tables : []), [tables.data]);
  const visible = listed.filter((t) => t.name.toLowerCase().includes(filter.trim().toLowerCase()));
  const src = sql.find((d) => d.id === source);
  const dst = sql.find((d) => d.id === destination);
  const chosen = useMemo(() => listed.filter((t) => picked.has(t.name)), [listed, picked]);
  const plan = useMemo(
    () =>
      src && dst
        ? planBulkSyncs(chosen, {
            idPrefix: idPrefix || `${src.id}-`,
            sourceDataSourceId: src.id,
            sourceConnector: src.connector,
            destinationDataSourceId: dst.id,
            destinationConnector: dst.connector,
            tablePrefix,
            mode,
            writeMode,
            enabled: start,
          }).map((p, i) => reviseSync(p, chosen[i]!, edits[p.table] ?? {}))
        : [],
    [src, dst, chosen, idPrefix, tablePrefix, mode, writeMode, start, edits],
  );
  const create = useMutation({
    mutationFn: () => client.syncs.bulkCreate(plan.map((p) => p.config)),
    onSuccess: (r) => {
      void queryClient.invalidateQueries({ queryKey: keys.overview });
      notify('ok', `${r.created.length} sync(s) created${start ? '' : ', paused'}.`);
      void navigate('/syncs');
    },
  });
  const problems = (create.error as { details?: { items?: BulkItemProblem[] } } | null)?.details?.items ?? [];
  const problemOf = (i: number) =>
    problems
      .find((p) => p.index === i)
      ?.issues.map((x) => `${x.path.replace(/^syncs\[\d+\]\./, '')}: ${x.message}`)
      .join('; ');
  const allVisible = visible.length > 0 && visible.every((t) => picked.has(t.name));
  if (!canOperate) return <Page title="New syncs from tables">Your role can read syncs but not create them.</Page>;
  const missing = !src ? 'choose a source data source' : !dst ? 'choose a destination data source' : plan.length === 0 ? 'pick at least one table' : undefined;
  return (
    <Page title="New syncs from tables" subtitle="One sync per table, with shared settings; key and cursor columns are detected per table for you to review.">
      <Section title="1. Where from and where to">
        <div className="grid-2">
          <Field label="Source data source" hint="A SQL data source whose tables are listed below.">
            {(p) => (
              <select {...p} value={source} onChange={(e) => (setSource(e.target.value), setPicked(new Set()))}>
                <option value="">Choose…</option>
                {sql.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.id} ({d.connector})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Destination data source">
            {(p) => (
              <select {...p} value={destination} onChange={(e) => setDestination(e.target.value)}>
                <option value="">Choose…</option>
                {sql.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.id} ({d.connector})
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      </Section>
      <Section title="2. Tables">
        {!source ? (
          <p className="muted">Choose a source data source to see its tables.</p>
        ) : tables.isPending ? (
          <Loading what="tables" />
        ) : tables.isError ? (
          <ErrorState error={tables.error} what="the tables" onRetry={() => void tables.refetch()} />
        ) : !tables.data.ok ? (
          <p className="error-note">Cannot list the tables: {tables.data.error}</p>
        ) : (
          <>
            <div className="toolbar">
              <label className="search">
                <span className="sr-only">Filter tables</span>
                <input type="search" placeholder="Filter tables…" value={filter} onChange={(e) => setFilter(e.target.value)} />
              </label>
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={allVisible}
                  onChange={() =>
                    setPicked(
                      allVisible ? new Set([...picked].filter((n) => !visible.some((t) => t.name === n))) : new Set([...picked, ...visible.map((t) => t.name)]),
                    )
                  }
                />{' '}
                Select all
                {filter ? ' shown' : ''} ({visible.length})
              </label>
              <span className="muted">{picked.size} picked</span>
            </div>
            <ul className="table-picker">
              {visible.map((t) => (
                <li key={`${t.schema ?? ''}.${t.name}`}>
                  <label className="checkbox">
                    <input
                      type="checkbox"
                      checked={picked.has(t.name)}
                      onChange={() => setPicked((s) => (s.has(t.name) ? new Set([...s].filter((x) => x !== t.name)) : new Set([...s, t.name])))}
                    />{' '}
                    {t.name} <span className="muted small">({t.columns.length} columns)</span>
                  </label>
                </li>
              ))}
            </ul>
          </>
        )}
      </Section>
      <Section title="3. Shared settings">
        <div className="grid-3">
          <Field label="Mode">
            {(p) => (
              <select {...p} value={mode} onChange={(e) => setMode(e.target.value as BulkSettings['mode'])}>
                <option value="id">increasing id</option>
                <option value="timestamp">timestamp (updated_at-like column)</option>
                <option value="full">full copy</option>
              </select>
            )}
          </Field>
          <Field label="Write mode">
            {(p) => (
              <select {...p} value={writeMode} onChange={(e) => setWriteMode(e.target.value as 'insert' | 'upsert')}>
                <option value="upsert">upsert</option>
                <option value="insert">insert</option>
              </select>
            )}
          </Field>
          <Field label="Sync id prefix" hint={`Ids are prefix + table, e.g. ${idPrefix || (source ? `${source}-` : 'shop-')}orders.`}>
            {(p) => <input {...p} value={idPrefix} placeholder={source ? `${source}-` : ''} onChange={(e) => setIdPrefix(e.target.value)} spellCheck={false} />}
          </Field>
          <Field label="Destination table prefix" hint="Optional, e.g. raw_.">
            {(p) => <input {...p} value={tablePrefix} onChange={(e) => setTablePrefix(e.target.value)} spellCheck={false} />}
          </Field>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} /> Start them at once (otherwise they are created paused)
        </label>
      </Section>
      <Section title={`4. Review and adjust (${plan.length})`}>
        {plan.length === 0 ? (
          <p className="muted">Pick tables to see the syncs that would be created.</p>
        ) : (
          <div className="table-wrap">
            <table className="cards-on-phone">
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col">Sync id</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Key columns</th>
                  <th scope="col">Cursor</th>
                  <th scope="col">Destination table</th>
                  <th scope="col">To review</th>
                </tr>
              </thead>
              <tbody>
                {plan.map((p, i) => (
                  <BulkReviewRow
                    key={p.table}
                    planned={p}
                    columns={chosen[i]!.columns.map((c) => c.name)}
                    edit={edits[p.table] ?? {}}
                    onEdit={(edit) => setEdits((all) => ({ ...all, [p.table]: edit }))}
                    problem={problemOf(i)}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {create.error && issuesOf(create.error).length > 0 ? (
          <p className="error-note" role="alert">
            {(create.error as Error).message}
          </p>
        ) : (
          <ErrorNote error={create.error} />
        )}
        <div className="form-actions">
          <Link className="button" to="/syncs">
            Cancel
          </Link>
          <BusyButton
            type="button"
            className="primary"
            busy={create.isPending}
            busyLabel="Creating…"
            disabled={missing !== undefined}
            aria-describedby="bulk-why"
            onClick={() => create.mutate()}
          >
            Create {plan.length} sync{plan.length === 1 ? '' : 's'}
          </BusyButton>
        </div>
        {missing && (
          <p id="bulk-why" className="muted small">
            To create: {missing}.
          </p>
        )}
      </Section>
    </Page>
  );
}
