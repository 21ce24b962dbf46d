import { useEffect, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { OffsetView, SyncActivity, SyncConfig, SyncOverview, SyncStatus, TimelineEvent } from '@idra/api-client';
import { copyProgress, isConfigProblem, lagSummary } from '@idra/core/health';
import { useClient } from '../api/client-context.tsx';
import { keys, useOffset, useOffsetHistory, useSyncConfig, useSyncOverview, useSyncStatus } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { isNotFound } from '../api/errors.ts';
import { Page, Section } from '../components/Page.tsx';
import { EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';
import { SyncCharts, useActivity } from '../components/SyncCharts.tsx';
import { ChangeLogFacts } from '../components/ChangeLogFacts.tsx';
import { FaithfulCopyFacts, faithfulCopyConfig } from '../components/FaithfulCopyFacts.tsx';
import { RelativeTime, useNow } from '../components/RelativeTime.tsx';
import { failingSince, healthOf, type SyncHealth } from '../lib/sync-state.ts';
import { minuteSeries, recentRate } from '../lib/activity.ts';
import { describePosition, storedKind, SYNC_DEFAULTS } from '@idra/core/model';
import { formatCount, formatDateTime, formatIn, formatSeconds } from '../lib/format.ts';
import { DeleteSyncDialog, DuplicateDialog, PauseResumeButton, RetryNowButton } from './sync-actions.tsx';
import { OffsetDialog } from './OffsetDialog.tsx';
import { DeadLettersCard } from './DeadLettersCard.tsx';
import { SyncHistoryCard } from './HistoryCard.tsx';

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

/** "initial copy 45.2% · 12,000 rows left · about 2 min to go" with a bar. */
function Progress({ status, rate }: { status: SyncStatus; rate: number }) {
  const p = copyProgress(status, rate);
  if (!p) return null;
  const label = `${p.initial ? 'Initial copy' : 'Catching up'}: ${p.percent}% · ${formatCount(p.rowsLeft)} rows left${p.etaSeconds ? ` · about ${formatSeconds(p.etaSeconds)} to go` : ''}`;
  return (
    <div className="progress">
      <progress max={100} value={p.percent} aria-label={label} />
      <span>{label}</span>
    </div>
  );
}

function StatusCard({
  id,
  status,
  row,
  offset,
  health,
  canOperate,
}: {
  id: string;
  status: SyncStatus | null | undefined;
  row: SyncOverview | undefined;
  offset: OffsetView | undefined;
  health: SyncHealth;
  canOperate: boolean;
}) {
  const activity = useActivity(id);
  const rate = activity.data ? recentRate(minuteSeries(activity.data)) : 0;
  // A position set by hand after the agent's last report (the sync is paused) is the one that counts.
  const editedLater = status && offset?.offset && offset.offset.agentId.startsWith('manual:') && offset.offset.committedAt > status.updatedAt;
  const lag = lagSummary(status?.lag);
  const failing = health.health === 'failed' || health.health === 'retrying';
  // The shared clock: "failing since" and "next attempt in" move on with the page's other relative times.
  const now = useNow();
  return (
    <Section title="Status" actions={canOperate && failing && row?.enabled ? <RetryNowButton id={id} /> : undefined}>
      {status === undefined ? (
        <Loading what="status" />
      ) : status === null ? (
        <EmptyState title="No agent has reported on this sync yet">
          <p>
            {row && !row.enabled ? 'It is paused.' : row && !row.assignment ? 'It is not assigned: is an agent running?' : 'It should start within seconds.'}
          </p>
        </EmptyState>
      ) : (
        <>
          {status.lastError && (
            <div className="error-note" role="alert">
              <strong>{isConfigProblem(status) ? 'Configuration problem' : status.lastError.transient === false ? 'Needs a fix' : 'Last error'}</strong> (
              <RelativeTime at={status.lastError.at} />
              ): {status.lastError.message} <span className="code">{status.lastError.code}</span>
              {status.lastError.row && (
                <div>
                  Rejected row: <code>{JSON.stringify(status.lastError.row)}</code>
                  {status.lastError.column && (
                    <>
                      {' '}
                      · column <code>{status.lastError.column}</code>
                    </>
                  )}
                </div>
              )}
              {failing && (
                <div>
                  {[
                    failingSince(health, now),
                    health.attempts ? `${health.attempts} attempt(s)` : undefined,
                    health.nextRetryAt ? `next attempt ${formatIn(health.nextRetryAt, now)}` : 'no automatic retry: fix the cause, then Retry now',
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                </div>
              )}
            </div>
          )}
          {status.warning && (
            <p className="warning-note" role="status">
              <strong>Warning:</strong> {status.warning}
            </p>
          )}
          <Progress status={status} rate={rate} />
          <ChangeLogFacts status={status} />
          <Facts
            items={[
              ['Agent state', status.state],
              ['Reported by', status.agentId],
              [
                'Rows copied',
                <span key="r" title={status.totals ? `since ${formatDateTime(status.totals.since)}` : undefined}>
                  {formatCount(status.totals?.rowsCopied ?? status.rowsCopied)}
                </span>,
              ],
              [
                'Since start',
                <span key="s">
                  {formatCount(status.rowsCopied)}
                  {status.startedAt && (
                    <>
                      {' '}
                      (<RelativeTime at={status.startedAt} />)
                    </>
                  )}
                </span>,
              ],
              ['Rows set aside', formatCount(status.totals?.rowsSkipped ?? status.rowsSkipped)],
              ['Last batch', <RelativeTime key="b" at={status.lastBatchAt} />],
              [
                'Lag',
                editedLater ? (
                  'known when it runs again'
                ) : (
                  <span key="l" title={lag.other}>
                    {lag.text}
                  </span>
                ),
              ],
              ['Source head', status.lag?.head ?? '—'],
              // The watermark matters only while it holds rows back (below the source's head).
              ['Watermark', status.heldBack ? (status.watermark ?? '—') : 'not holding rows back'],
              ['Held back', status.heldBack ?? '—'],
              ['Position', editedLater ? `${describePosition(offset.offset)} (set by hand)` : describePosition(status.position)],
              ['Reported', <RelativeTime key="u" at={status.updatedAt} />],
            ]}
          />
          <FaithfulCopyFacts status={status} />
        </>
      )}
    </Section>
  );
}

const RANGES: Array<SyncActivity['range']> = ['1h', '6h', '24h'];

/** Throughput, lag and errors from the agents' per-minute points, over a chosen range. */
function ActivityCard({ id }: { id: string }) {
  const [range, setRange] = useState<SyncActivity['range']>('1h');
  const activity = useActivity(id, range);
  return (
    <Section
      title="Activity"
      actions={
        <div className="segmented-buttons" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r} type="button" aria-pressed={range === r} className={range === r ? 'chip active' : 'chip'} onClick={() => setRange(r)}>
              last {r}
            </button>
          ))}
        </div>
      }
    >
      {activity.isPending ? (
        <Loading what="activity" />
      ) : activity.isError ? (
        <ErrorState error={activity.error} what="the activity" onRetry={() => void activity.refetch()} />
      ) : (
        <SyncCharts activity={activity.data} />
      )}
    </Section>
  );
}

const KIND_LABEL: Record<TimelineEvent['kind'], string> = {
  started: 'started',
  handoff: 'handoff',
  stopped: 'stopped',
  error: 'error',
  recovered: 'recovered',
  schema: 'schema',
  offset: 'offset',
  paused: 'paused',
  resumed: 'resumed',
  config: 'change',
  agent: 'agent',
};

/** What happened to the sync, who did it and when, newest first. */
function TimelineCard({ id }: { id: string }) {
  const client = useClient();
  const timeline = useQuery({ queryKey: keys.timeline(id), queryFn: () => client.syncs.timeline(id), refetchInterval: 15_000 });
  return (
    <Section title="Timeline">
      {timeline.isPending ? (
        <Loading what="timeline" />
      ) : timeline.isError ? (
        <ErrorState error={timeline.error} what="the timeline" onRetry={() => void timeline.refetch()} />
      ) : timeline.data.length === 0 ? (
        <p className="muted">Nothing has happened yet.</p>
      ) : (
        <ol className="timeline" tabIndex={0} aria-label="Events, newest first">
          {timeline.data.slice(0, 50).map((e) => (
            <li key={`${e.at}-${e.kind}-${e.text}`} className={`timeline-${e.kind}`}>
              <RelativeTime at={e.at} />
              <span className="badge">{KIND_LABEL[e.kind]}</span> <span>{e.text}</span>
              {(e.by || e.agentId) && <span className="muted small"> — {e.by ? `by ${e.by}` : `agent ${e.agentId}`}</span>}
            </li>
          ))}
        </ol>
      )}
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

function endpointText(e: SyncConfig['source']): string {
  const where = e.query ? `query: ${e.query}` : [e.schema, e.table ?? e.collection ?? e.topic ?? e.bucket ?? e.url].filter(Boolean).join('.');
  return `${e.connector} ${e.dataSourceId ? `(data source ${e.dataSourceId})` : '(own connection)'} ${where}`;
}

/** One sync: status and progress, assignment, configuration, offset (and its edit), rejected rows, its history. */
export function SyncDetailScreen() {
  const id = useParams().id!;
  const navigate = useNavigate();
  const config = useSyncConfig(id);
  const status = useSyncStatus(id);
  const offset = useOffset(id);
  const overview = useSyncOverview(id);
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
  const listed = overview.data ?? undefined;
  const enabled = sync.enabled !== false;
  // The sync's own status query (and the event stream) is fresher than the overview's.
  const row = listed && { ...listed, enabled, status: status.data === undefined ? listed.status : status.data };
  const health = healthOf({ enabled, assignment: row?.assignment ?? null, unassigned: row?.unassigned ?? null, lagThreshold: sync.lagThreshold }, row?.status);
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
        <StatusCard id={id} status={status.isError ? null : status.data} row={row} offset={offset.data} health={health} canOperate={canOperate} />
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
              ['Batch size', String(sync.batchSize ?? SYNC_DEFAULTS.batchSize)],
              ['Poll interval', String(sync.pollIntervalMs ?? '5s')],
              ['On error', sync.onError ?? 'stop'],
              ...faithfulCopyConfig(sync),
            ]}
          />
        </Section>
      </div>
      <ActivityCard id={id} />
      <TimelineCard id={id} />
      <OffsetCard sync={sync} offset={offset.data} canEdit={isAdmin} />
      <DeadLettersCard id={id} canOperate={canOperate} />
      <SyncHistoryCard id={id} />
      {dialog === 'duplicate' && <DuplicateDialog id={sync.id} name={sync.name ?? sync.id} onClose={() => setDialog(undefined)} />}
      {dialog === 'delete' && <DeleteSyncDialog id={sync.id} onClose={() => setDialog(undefined)} onDeleted={() => void navigate('/syncs')} />}
    </Page>
  );
}
