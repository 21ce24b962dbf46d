import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ConnectorKind } from '@idra/core/model';
import type { ConnectionTestResult, DataSource } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useConnectorLabel, useDataSources } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { plainIssues } from '../lib/plain-issues.ts';
import { Page } from '../components/Page.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { Field } from '../components/Field.tsx';
import { ConnectionFields } from '../components/ConnectionFields.tsx';
import { ChangeLogReadiness } from '../components/ChangeLogReadiness.tsx';
import { BusyButton, EmptyState, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { CONNECTORS } from '@idra/core/model';
import { connectionToDraft, draftToConnection, type ConnectionDraft } from '../lib/sync-draft.ts';
import { DataSourceSlotsCard } from './DataSourceSlotsCard.tsx';
import { DataSourceLimitsFields, draftToLimits, limitsToDraft, type LimitsDraft } from './DataSourceLimitsFields.tsx';

/** Where a data source points, without its secrets (the API masks them already). */
function target(ds: DataSource): string {
  const c = ds.connection;
  return c.file ?? c.url ?? [c.user && `${c.user}@`, c.host, c.port && `:${c.port}`, c.database && `/${c.database}`].filter(Boolean).join('');
}

function TestResult({ result }: { result: ConnectionTestResult }) {
  if (!result.ok) {
    return (
      <p className="error-note" role="alert">
        ✗ Cannot connect: {result.error}
      </p>
    );
  }
  const tx = result.transactions;
  return (
    <>
      <p className="ok-text" role="status">
        ✓ Connected ({result.connector}, {Math.round(result.latencyMs)} ms)
      </p>
      {tx && !tx.visible && (
        <p className="warning-note" role="status">
          The user cannot see other sessions' transactions ({tx.reason}): an id or timestamp sync reading from here will not start unless it sets a delay.
          {tx.grant && (
            <>
              {' '}
              To fix it, run <code>{tx.grant}</code>
            </>
          )}
        </p>
      )}
      {result.changeLog && <ChangeLogReadiness readiness={result.changeLog} />}
    </>
  );
}

/** The id a connection is tested under before it has one of its own (nothing is stored under it). */
const UNNAMED = 'unsaved-data-source';
const ID_MISSING = 'give it an id: letters, digits, _ . - (syncs refer to it by this)';

function DataSourceDialog({ initial, onClose }: { initial: DataSource | undefined; onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const [id, setId] = useState(initial?.id ?? '');
  const [name, setName] = useState(initial?.name ?? '');
  const label = useConnectorLabel();
  const [connector, setConnector] = useState<ConnectorKind>(initial?.connector ?? 'postgres');
  const [connection, setConnection] = useState<ConnectionDraft>(() => connectionToDraft(initial?.connection));
  const [limits, setLimits] = useState<LimitsDraft>(() => limitsToDraft(initial));
  const doc = (): DataSource => ({
    id: id.trim(),
    ...(name.trim() ? { name: name.trim() } : {}),
    connector,
    connection: draftToConnection(connection),
    ...draftToLimits(limits),
  });
  // The latest of save and test speaks alone: a check that passes clears what an earlier one found.
  const save = useMutation({
    mutationFn: () => (initial ? client.dataSources.put(doc()) : client.dataSources.create(doc())),
    onSuccess: (ds) => {
      void queryClient.invalidateQueries({ queryKey: keys.dataSources });
      notify('ok', `Data source ${ds.id} saved.`);
      onClose();
    },
  });
  // A connection can be tried before it has a name: the id only matters for saving.
  const test = useMutation({ mutationFn: () => client.dataSources.testUnsaved({ ...doc(), id: doc().id || UNNAMED }) });
  const issues = plainIssues(issuesOf(save.error ?? test.error));
  const issue = (path: string) =>
    path === 'id' && !id.trim() && issues.some((i) => i.path === 'id') ? ID_MISSING : issues.find((i) => i.path === path)?.message;
  const busy = save.isPending || test.isPending;
  return (
    <Dialog
      title={initial ? `Edit data source ${initial.id}` : 'New data source'}
      wide
      onClose={onClose}
      busy={busy}
      onSubmit={() => {
        test.reset();
        save.mutate();
      }}
      actions={
        <>
          <BusyButton
            type="button"
            busy={test.isPending}
            busyLabel="Testing…"
            onClick={() => {
              save.reset();
              test.mutate();
            }}
          >
            Test connection
          </BusyButton>
          <span className="spacer" />
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save
          </BusyButton>
        </>
      }
    >
      <div className="grid-2">
        <Field label="Id" hint="Letters, digits, _ . - ; syncs refer to it." error={issue('id')}>
          {(p) => <input {...p} value={id} onChange={(e) => setId(e.target.value)} readOnly={initial !== undefined} spellCheck={false} autoComplete="off" />}
        </Field>
        <Field label="Name" hint="Optional" error={issue('name')}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Connector" error={issue('connector')}>
          {(p) => (
            <select {...p} value={connector} onChange={(e) => setConnector(e.target.value as ConnectorKind)} disabled={initial !== undefined}>
              {CONNECTORS.map((c) => (
                <option key={c} value={c}>
                  {label(c)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ConnectionFields
        connector={connector}
        value={connection}
        onChange={setConnection}
        issue={(f) => issue(`connection.${f}`) ?? (f === 'url' ? issue('connection') : undefined)}
      />
      <DataSourceLimitsFields
        value={limits}
        onChange={setLimits}
        issue={(f) => issues.find((i) => i.path === f || i.path.startsWith(`${f}/`) || i.path.startsWith(`${f}.`))?.message}
      />
      {test.data && <TestResult result={test.data} />}
      {/* Problems of fields are said under each field, in plain words; the rest here. */}
      {issues.length === 0 && <ErrorNote error={save.error ?? test.error} />}
    </Dialog>
  );
}

function DataSourceRow({ ds, canOperate, onEdit, onDelete }: { ds: DataSource; canOperate: boolean; onEdit: () => void; onDelete: () => void }) {
  const label = useConnectorLabel();
  const client = useClient();
  const test = useMutation({ mutationFn: () => client.dataSources.test(ds.id) });
  return (
    <tr>
      <th scope="row">
        {ds.id}
        {ds.name && ds.name !== ds.id && <div className="muted small">{ds.name}</div>}
      </th>
      <td>{label(ds.connector)}</td>
      <td className="mono small">{target(ds)}</td>
      <td aria-live="polite">
        {test.data ? <TestResult result={test.data} /> : test.error ? <ErrorNote error={test.error} /> : <span className="muted">—</span>}
      </td>
      {canOperate && (
        <td className="row-actions">
          <BusyButton type="button" busy={test.isPending} busyLabel="Testing…" onClick={() => test.mutate()} aria-label={`Test connection ${ds.id}`}>
            Test
          </BusyButton>
          <button type="button" onClick={onEdit} aria-label={`Edit ${ds.id}`}>
            Edit
          </button>
          <button type="button" className="danger-text" onClick={onDelete} aria-label={`Delete ${ds.id}`}>
            Delete
          </button>
        </td>
      )}
    </tr>
  );
}

/** Named connections: list, create, edit (secrets stay masked), test, delete. */
export function DataSourcesScreen() {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const list = useDataSources();
  const canOperate = useCan('operator');
  const [editing, setEditing] = useState<{ ds: DataSource | undefined }>();
  const [deleting, setDeleting] = useState<DataSource>();
  const remove = useMutation({
    mutationFn: (id: string) => client.dataSources.delete(id),
    onSuccess: (_r, id) => {
      void queryClient.invalidateQueries({ queryKey: keys.dataSources });
      notify('ok', `Data source ${id} deleted.`);
      setDeleting(undefined);
    },
  });
  return (
    <Page
      title="Data sources"
      subtitle="Connections that syncs refer to by id. Passwords are stored encrypted and never shown."
      actions={
        canOperate && (
          <button type="button" className="primary" onClick={() => setEditing({ ds: undefined })}>
            New data source
          </button>
        )
      }
    >
      {list.isPending ? (
        <Loading what="data sources" />
      ) : list.isError ? (
        <ErrorState error={list.error} what="the data sources" onRetry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <EmptyState title="No data source yet">
          <p>A data source names a database connection once, for any number of syncs.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Connector</th>
                <th scope="col">Where</th>
                <th scope="col">Connection test</th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.data.map((ds) => (
                <DataSourceRow key={ds.id} ds={ds} canOperate={canOperate} onEdit={() => setEditing({ ds })} onDelete={() => setDeleting(ds)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <DataSourceSlotsCard />
      {editing && <DataSourceDialog initial={editing.ds} onClose={() => setEditing(undefined)} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete data source ${deleting.id}?`}
          confirmLabel="Delete"
          danger
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate(deleting.id)}
          onClose={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p>Syncs that use it must be changed or deleted first: the API refuses otherwise and names them.</p>
        </ConfirmDialog>
      )}
    </Page>
  );
}
