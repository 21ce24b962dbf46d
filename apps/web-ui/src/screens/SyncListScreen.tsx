import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { SyncOverview } from '@idra/api-client';
import { useOverviewPage } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { Page } from '../components/Page.tsx';
import { BusyButton, EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';
import { ActionMenu } from '../components/ActionMenu.tsx';
import { Pager } from '../components/Pager.tsx';
import { agentOf, HEALTH_ORDER, lagSummary, readOverviewQuery, rowsOf, type OverviewQuery, type OverviewSortKey } from '@idra/core/health';
import { formatAgo, formatCount } from '../lib/format.ts';
import { DeleteSyncDialog, DuplicateDialog, usePauseResume, useRetryNow } from './sync-actions.tsx';
import { ImportDialog, useExport } from './TransferDialogs.tsx';

function endpoint(e: SyncOverview['source']): string {
  return `${e.connector}${e.dataSourceId ? ` ${e.dataSourceId}` : ''}${e.table ? ` · ${e.table}` : ''}`;
}

function SortHeader({
  label,
  sortKey,
  query,
  onSort,
  className,
}: {
  label: string;
  sortKey: OverviewSortKey;
  query: OverviewQuery;
  onSort: (k: OverviewSortKey) => void;
  className?: string;
}) {
  const active = query.sort === sortKey;
  return (
    <th scope="col" className={className} aria-sort={active ? (query.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort-button" onClick={() => onSort(sortKey)}>
        {label}
        <span aria-hidden="true">{active ? (query.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

type RowDialog = { kind: 'duplicate' | 'delete'; sync: SyncOverview } | { kind: 'import' };

/** Pause/Resume, Retry now, Duplicate and Delete of one row, in a menu so that rows stay one line high. */
function RowActions({ sync, onDialog }: { sync: SyncOverview; onDialog: (d: RowDialog) => void }) {
  const toggle = usePauseResume(sync.id, sync.enabled);
  const retry = useRetryNow(sync.id);
  const failing = sync.health.health === 'failed' || sync.health.health === 'retrying';
  return (
    <ActionMenu
      label={`Actions for ${sync.id}`}
      actions={[
        { label: sync.enabled ? 'Pause' : 'Resume', onSelect: () => toggle.mutate(), disabledReason: toggle.isPending ? 'in progress' : undefined },
        ...(failing ? [{ label: 'Retry now', onSelect: () => retry.mutate() }] : []),
        { label: 'Duplicate', onSelect: () => onDialog({ kind: 'duplicate', sync }) },
        { label: 'Delete', danger: true, onSelect: () => onDialog({ kind: 'delete', sync }) },
      ]}
    />
  );
}

/** Every sync with its state, agent, progress and last error: searchable, sortable, paged (by the server: a page is 25 rows whatever the number of syncs). */
export function SyncListScreen() {
  const [params, setParams] = useSearchParams();
  const query = readOverviewQuery(params);
  const overview = useOverviewPage(query);
  const canOperate = useCan('operator');
  const exporter = useExport();
  const [dialog, setDialog] = useState<RowDialog>();

  const update = (patch: Partial<Record<keyof OverviewQuery, string>>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('page' in patch)) next.delete('page');
    setParams(next, { replace: true });
  };
  const onSort = (k: OverviewSortKey) => update({ sort: k, dir: query.sort === k && query.dir === 'asc' ? 'desc' : 'asc' });

  const { items: page = [], total = 0, pages = 1, page: pageIndex = 1, counts } = overview.data ?? {};
  // Counts are of the syncs the text matches: with no text, of every sync.
  const none = counts !== undefined && counts.all === 0 && !query.q.trim();
  return (
    <Page
      title="Syncs"
      actions={
        <>
          <BusyButton type="button" busy={exporter.isPending} busyLabel="Exporting…" onClick={() => exporter.mutate()}>
            Export JSON
          </BusyButton>
          {canOperate && (
            <>
              <button type="button" onClick={() => setDialog({ kind: 'import' })}>
                Import JSON
              </button>
              <Link className="button" to="/syncs/bulk">
                From tables…
              </Link>
              <Link className="button primary" to="/syncs/new">
                New sync
              </Link>
            </>
          )}
        </>
      }
    >
      <div className="toolbar" role="search">
        <label className="search">
          <span className="sr-only">Search syncs</span>
          <input type="search" placeholder="Search id, name, table, agent, error…" value={query.q} onChange={(e) => update({ q: e.target.value })} />
        </label>
        <div className="filter-chips" role="group" aria-label="Filter by health">
          {(['', ...HEALTH_ORDER] as const).map((s) => (
            <button
              key={s || 'all'}
              type="button"
              className={`chip${query.health === s ? ' active' : ''}`}
              aria-pressed={query.health === s}
              onClick={() => update({ health: s })}
            >
              {s || 'all'} <span className="chip-count">{counts ? counts[s || 'all'] : '…'}</span>
            </button>
          ))}
        </div>
      </div>
      {overview.isPending ? (
        <Loading what="syncs" />
      ) : overview.isError ? (
        <ErrorState error={overview.error} what="the syncs" onRetry={() => void overview.refetch()} />
      ) : none ? (
        <EmptyState title="No sync yet">
          {canOperate ? (
            <p>
              <Link to="/syncs/new">Create the first sync</Link>, or import a JSON export (including the original Go Idra's).
            </p>
          ) : (
            <p>An operator or admin can create syncs.</p>
          )}
        </EmptyState>
      ) : total === 0 ? (
        <EmptyState title="No sync matches">
          <button type="button" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear the search
          </button>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="sync-table cards-on-phone">
              <caption className="sr-only">Syncs, {total} shown</caption>
              <thead>
                <tr>
                  <SortHeader label="Sync" sortKey="name" query={query} onSort={onSort} />
                  <SortHeader label="Health" sortKey="health" query={query} onSort={onSort} />
                  <th scope="col">Source → destination</th>
                  <SortHeader label="Agent" sortKey="agent" query={query} onSort={onSort} />
                  <SortHeader label="Rows copied" sortKey="rows" query={query} onSort={onSort} className="num" />
                  <SortHeader label="Lag" sortKey="lag" query={query} onSort={onSort} className="num" />
                  <SortHeader label="Problem" sortKey="error" query={query} onSort={onSort} />
                  {canOperate && (
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {page.map((s) => {
                  const lag = lagSummary(s.status?.lag);
                  const problem =
                    s.status?.lastError?.message ??
                    (s.health.health === 'lagging' || s.health.health === 'unassigned' || s.status?.state === 'waiting' ? s.health.reason : undefined);
                  return (
                    <tr key={s.id} data-sync={s.id}>
                      <th scope="row">
                        <Link to={`/syncs/${encodeURIComponent(s.id)}`}>{s.name}</Link>
                        {s.name !== s.id && <div className="muted small">{s.id}</div>}
                      </th>
                      <td data-label="Health">
                        <HealthBadge health={s.health} />
                      </td>
                      <td className="small" data-label="Source → destination">
                        {endpoint(s.source)} → {endpoint(s.destination)} <span className="muted">· {s.mode}</span>
                      </td>
                      <td className="nowrap" data-label="Agent">
                        {agentOf(s) ?? <span className="muted">—</span>}
                      </td>
                      <td
                        className="num"
                        data-label="Rows copied"
                        title={s.status ? `${formatCount(s.status.rowsCopied)} since its agent started it` : undefined}
                      >
                        {formatCount(rowsOf(s))}
                      </td>
                      <td className="num" data-label="Lag" title={lag.other}>
                        {lag.text}
                      </td>
                      <td className="last-error" data-label="Problem">
                        {problem ? (
                          <span className="one-line error-text" title={problem}>
                            {problem}
                          </span>
                        ) : s.deadLetters > 0 ? (
                          <span>{formatCount(s.deadLetters)} rows set aside</span>
                        ) : (
                          <span className="muted">—</span>
                        )}
                        {s.status?.lastError && <span className="muted small"> {formatAgo(s.status.lastError.at)}</span>}
                      </td>
                      {canOperate && (
                        <td className="row-actions">
                          <RowActions sync={s} onDialog={setDialog} />
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager page={pageIndex} pages={pages} total={total} noun="sync" onPage={(p) => update({ page: String(p) })} />
        </>
      )}
      {dialog?.kind === 'import' && <ImportDialog onClose={() => setDialog(undefined)} />}
      {dialog?.kind === 'duplicate' && <DuplicateDialog id={dialog.sync.id} name={dialog.sync.name} onClose={() => setDialog(undefined)} />}
      {dialog?.kind === 'delete' && <DeleteSyncDialog id={dialog.sync.id} onClose={() => setDialog(undefined)} />}
    </Page>
  );
}
