import { useEffect, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { OffsetView, SyncConfig, SyncOverview, SyncStatus } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useDeadLetters, useOffset, useOffsetHistory, useOverview, useSyncConfig, useSyncStatus } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { isNotFound } from '../api/errors.ts';
import { Page, Section } from '../components/Page.tsx';
import { BusyButton, EmptyState, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';
import { SyncCharts } from '../components/SyncCharts.tsx';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { useNotify } from '../components/Notify.tsx';
import { healthOf } from '../lib/sync-state.ts';
import { describePosition, storedKind } from '@idra/core/model';
import { formatAgo, formatCount, formatDateTime, formatSeconds } from '../lib/format.ts';
import { DeleteSyncDialog, DuplicateDialog, PauseResumeButton } from './sync-actions.tsx';
import { OffsetDialog } from './OffsetDialog.tsx';

function Facts({ items }: { items: Array<[string, ReactNode]> }) {
  return (
    <dl className="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function StatusCard({ id, status, row }: { id: string; status: SyncStatus | null | undefined; row: SyncOverview | undefined }) {
  return (
    <Section title="Status">
      {status === undefined ? (
        <Loading what="status" />
      ) : status === null ? (
        <EmptyState title="No agent has reported on this sync yet">
          <p>{row && !row.enabled ? 'It is paused.' : row && !row.assignment ? 'It is not assigned: is an agent running?' : 'It should start within seconds.'}</p>
        </EmptyState>
      ) : (
        <>
          {status.lastError && (
            <div className="error-note" role="alert">
              <strong>Last error</strong> ({formatAgo(status.lastError.at)}): {status.lastError.message} <span className="code">{status.lastError.code}</span>
              {status.state === 'retrying' && status.retryInMs !== undefined && <div>Retrying in {Math.ceil(status.retryInMs / 1000)} s.</div>}
            </div>
          )}
          {status.warning && (
            <p className="warning-note" role="status">
              <strong>Warning:</strong> {status.warning}
            </p>
          )}
          <Facts
            items={[
              ['Agent state', status.state],
              ['Reported by', status.agentId],
              ['Rows copied', formatCount(status.rowsCopied)],
              ['Rows set aside', formatCount(status.rowsSkipped)],
              ['Batches', formatCount(status.batches)],
              ['Last batch', formatAgo(status.lastBatchAt)],
              ['Lag', status.lag ? [status.lag.rows !== undefined ? `${formatCount(status.lag.rows)} rows` : '', status.lag.seconds !== undefined ? formatSeconds(status.lag.seconds) : ''].filter(Boolean).join(', ') || '—' : '—'],
              ['Source head', status.lag?.head ?? '—'],
              ['Watermark', status.watermark ?? '—'],
              ['Held back', status.heldBack ?? '—'],
              ['Position', describePosition(status.position)],
              ['Reported', formatAgo(status.updatedAt)],
            ]}
          />
        </>
      )}
      <SyncCharts syncId={id} width={280} />
    </Section>
  );
}

function OffsetCard({ sync, offset, canEdit }: { sync: SyncConfig; offset: OffsetView | undefined; canEdit: boolean }) {
  const history = useOffsetHistory(sync.id);
  const [editing, setEditing] = useState(false);
  const kind = storedKind(sync.mode);
  const blocked = !kind
    ? `mode ${sync.mode} resumes from the destination and stores no offset`
    : !offset
      ? 'loading…'
      : offset.enabled
        ? 'pause the sync first'
        : offset.runningOn
          ? `agent ${offset.runningOn} is still finishing its batch`
          : undefined;
  return (
    <Section
      title="Offset"
      actions={
        canEdit && kind ? (
          <>
            <button type="button" onClick={() => setEditing(true)} disabled={blocked !== undefined} aria-describedby={blocked ? 'offset-blocked' : undefined}>
              Edit offset
            </button>
            {blocked && (
              <span id="offset-blocked" className="muted small">
                ({blocked})
              </span>
            )}
          </>
        ) : undefined
      }
    >
      {!offset ? (
        <Loading what="offset" />
      ) : (
        <Facts
          items={[
            ['Position', describePosition(offset.offset)],
            ['Committed', offset.offset ? `${formatDateTime(offset.offset.committedAt)} by ${offset.offset.agentId}` : '—'],
            ['Lock held by', offset.runningOn ?? 'nobody'],
          ]}
        />
      )}
      <h3>History of manual changes</h3>
      {history.isPending ? (
        <Loading what="history" />
      ) : history.isError ? (
        <ErrorState error={history.error} what="the offset history" />
      ) : history.data.length === 0 ? (
        <p className="muted">Never changed by hand.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Old → new</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {[...history.data].reverse().map((h) => (
                <tr key={`${h.at}-${h.by}`}>
                  <td>{formatDateTime(h.at)}</td>
                  <td>{h.by}</td>
                  <td>
                    {describePosition(h.old)} → <strong>{describePosition(h.new)}</strong>
                  </td>
                  <td>{h.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && offset && <OffsetDialog sync={sync} current={offset.offset} onClose={() => setEditing(false)} />}
    </Section>
  );
}

function DeadLettersCard({ id, canOperate }: { id: string; canOperate: boolean }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const letters = useDeadLetters(id);
  const [confirmAll, setConfirmAll] = useState(false);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: keys.deadLetters(id) });
    void queryClient.invalidateQueries({ queryKey: keys.overview });
  };
  const removeOne = useMutation({ mutationFn: (errorId: string) => client.syncs.deleteDeadLetter(id, errorId), onSettled: refresh });
  const removeAll = useMutation({
    mutationFn: () => client.syncs.deleteDeadLetters(id),
    onSuccess: (r) => {
      notify('ok', `${r.deleted} rejected rows deleted.`);
      setConfirmAll(false);
    },
    onSettled: refresh,
  });
  return (
    <Section
      title="Rejected rows (dead letters)"
      id="dead-letters"
      actions={
        canOperate && letters.data && letters.data.length > 0 ? (
          <button type="button" className="danger-text" onClick={() => setConfirmAll(true)}>
            Delete all
          </button>
        ) : undefined
      }
    >
      {letters.isPending ? (
        <Loading what="rejected rows" />
      ) : letters.isError ? (
        <ErrorState error={letters.error} what="the rejected rows" onRetry={() => void letters.refetch()} />
      ) : letters.data.length === 0 ? (
        <p className="muted">No row was rejected{' '}(rows the destination refuses are set aside here when the error policy is skip).</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Error</th>
                <th scope="col">Row</th>
                {canOperate && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {letters.data.map((l) => (
                <tr key={l.id}>
                  <td>{formatDateTime(l.at)}</td>
                  <td className="error-text">{l.error}</td>
                  <td>
                    <code className="row-json">{JSON.stringify(l.row)}</code>
                  </td>
                  {canOperate && (
                    <td>
                      <BusyButton type="button" busy={removeOne.isPending && removeOne.variables === l.id} onClick={() => removeOne.mutate(l.id)} aria-label={`Delete rejected row ${l.id}`}>
                        Delete
                      </BusyButton>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNote error={removeOne.error} />
      {confirmAll && (
        <ConfirmDialog title={`Delete every rejected row of ${id}?`} confirmLabel="Delete all" danger busy={removeAll.isPending} error={removeAll.error} onConfirm={() => removeAll.mutate()} onClose={() => setConfirmAll(false)}>
          <p>The rows are gone for good: they were not written to the destination.</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

function endpointText(e: SyncConfig['source']): string {
  const where = e.query ? `query: ${e.query}` : [e.schema, e.table ?? e.collection ?? e.topic ?? e.bucket ?? e.url].filter(Boolean).join('.');
  return `${e.connector} ${e.dataSourceId ? `(data source ${e.dataSourceId})` : '(own connection)'} ${where}`;
}

/** One sync: status and progress, assignment, configuration, offset (and its edit), rejected rows. */
export function SyncDetailScreen() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const config = useSyncConfig(id);
  const status = useSyncStatus(id);
  const offset = useOffset(id);
  const overview = useOverview();
  const canOperate = useCan('operator');
  const isAdmin = useCan('admin');
  const [dialog, setDialog] = useState<'duplicate' | 'delete'>();
  const queryClient = useQueryClient();
  // A new position or agent state means the stored offset and lock owner changed too.
  const progress = `${JSON.stringify(status.data?.position)}|${status.data?.state}|${status.data?.agentId}`;
  useEffect(() => {
    void queryClient.invalidateQueries({ queryKey: keys.offset(id) });
  }, [progress, id, queryClient]);

  if (config.isPending) return <Loading what={`sync ${id}`} />;
  if (config.isError) {
    return (
      <Page title={`Sync ${id}`}>
        {isNotFound(config.error) ? (
          <EmptyState title="This sync does not exist">
            <Link to="/syncs">Back to the syncs</Link>
          </EmptyState>
        ) : (
          <ErrorState error={config.error} what={`sync ${id}`} onRetry={() => void config.refetch()} />
        )}
      </Page>
    );
  }
  const sync = config.data;
  const listed = overview.data?.find((r) => r.id === id);
  const enabled = sync.enabled !== false;
  // The sync's own status query (and the event stream) is fresher than the overview's.
  const row = listed && { ...listed, enabled, status: status.data === undefined ? listed.status : status.data };
  const health = healthOf({ enabled, assignment: row?.assignment ?? null, lagThreshold: sync.lagThreshold }, row?.status);
  return (
    <Page
      title={sync.name ?? sync.id}
      subtitle={
        <>
          <code>{sync.id}</code> · <HealthBadge health={health} /> <span className="muted">{health.reason}</span>
        </>
      }
      actions={
        canOperate && (
          <>
            <PauseResumeButton id={sync.id} enabled={enabled} />
            <Link className="button" to={`/syncs/${encodeURIComponent(sync.id)}/edit`}>
              Edit
            </Link>
            <button type="button" onClick={() => setDialog('duplicate')}>
              Duplicate
            </button>
            <button type="button" className="danger-text" onClick={() => setDialog('delete')}>
              Delete
            </button>
          </>
        )
      }
    >
      <div className="detail-grid">
        <StatusCard id={id} status={status.isError ? null : status.data} row={row} />
        <Section title="Assignment">
          <Facts
            items={[
              ['Assigned to', row?.assignment ? `${row.assignment.agentId} (epoch ${row.assignment.epoch})` : enabled ? 'nobody yet' : 'nobody (paused)'],
              ['Running on', row?.runningOn ?? offset.data?.runningOn ?? 'no agent holds its lock'],
            ]}
          />
          <h3>Configuration</h3>
          <Facts
            items={[
              ['Source', endpointText(sync.source)],
              ['Destination', endpointText(sync.destination)],
              ['Mode', sync.mode],
              ['Cursor', [sync.cursorColumn, sync.tiebreakerColumn && `tiebreaker ${sync.tiebreakerColumn}`].filter(Boolean).join(', ') || '—'],
              ['Key columns', sync.keyColumns?.join(', ') || '—'],
              ['Write mode', sync.writeMode ?? 'insert'],
              ['Batch size', String(sync.batchSize ?? 1000)],
              ['Poll interval', String(sync.pollIntervalMs ?? '5s')],
              ['On error', sync.onError ?? 'stop'],
            ]}
          />
        </Section>
      </div>
      <OffsetCard sync={sync} offset={offset.data} canEdit={isAdmin} />
      <DeadLettersCard id={id} canOperate={canOperate} />
      {dialog === 'duplicate' && <DuplicateDialog id={sync.id} name={sync.name ?? sync.id} onClose={() => setDialog(undefined)} />}
      {dialog === 'delete' && <DeleteSyncDialog id={sync.id} onClose={() => setDialog(undefined)} onDeleted={() => void navigate('/syncs')} />}
    </Page>
  );
}
