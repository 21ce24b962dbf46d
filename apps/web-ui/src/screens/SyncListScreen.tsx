import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { SyncOverview } from '@idra/api-client';
import { useOverview } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { Page } from '../components/Page.tsx';
import { BusyButton, EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { DISPLAY_STATES, detailOf, displayState } from '../lib/sync-state.ts';
import { agentOf, applyTableQuery, parseTableQuery, type SortKey, type TableQuery } from '../lib/sync-table.ts';
import { formatAgo, formatCount, formatSeconds } from '../lib/format.ts';
import { DeleteSyncDialog, DuplicateDialog, PauseResumeButton } from './sync-actions.tsx';
import { ImportDialog, useExport } from './TransferDialogs.tsx';

function endpoint(e: SyncOverview['source']): string {
  return `${e.connector}${e.dataSourceId ? ` ${e.dataSourceId}` : ''}${e.table ? ` · ${e.table}` : ''}`;
}

function SortHeader({ label, sortKey, query, onSort, className }: { label: string; sortKey: SortKey; query: TableQuery; onSort: (k: SortKey) => void; className?: string }) {
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

/** Every sync with its state, agent, progress and last error: searchable, sortable, paged. */
export function SyncListScreen() {
  const overview = useOverview();
  const canOperate = useCan('operator');
  const exporter = useExport();
  const [params, setParams] = useSearchParams();
  const query = parseTableQuery(params);
  const [dialog, setDialog] = useState<RowDialog>();

  const update = (patch: Partial<Record<keyof TableQuery, string>>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('page' in patch)) next.delete('page');
    setParams(next, { replace: true });
  };
  const onSort = (k: SortKey) => update({ sort: k, dir: query.sort === k && query.dir === 'asc' ? 'desc' : 'asc' });

  const all = overview.data ?? [];
  const { page, total, pages, pageIndex } = applyTableQuery(all, query);
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
        <div className="filter-chips" role="group" aria-label="Filter by state">
          {(['', ...DISPLAY_STATES] as const).map((s) => (
            <button key={s || 'all'} type="button" className={`chip${query.state === s ? ' active' : ''}`} aria-pressed={query.state === s} onClick={() => update({ state: s })}>
              {s || 'all'} <span className="chip-count">{s ? all.filter((r) => displayState(r) === s).length : all.length}</span>
            </button>
          ))}
        </div>
      </div>
      {overview.isPending ? (
        <Loading what="syncs" />
      ) : overview.isError ? (
        <ErrorState error={overview.error} what="the syncs" onRetry={() => void overview.refetch()} />
      ) : all.length === 0 ? (
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
            <table className="sync-table">
              <caption className="sr-only">Syncs, {total} shown</caption>
              <thead>
                <tr>
                  <SortHeader label="Sync" sortKey="name" query={query} onSort={onSort} />
                  <SortHeader label="State" sortKey="state" query={query} onSort={onSort} />
                  <th scope="col">Source → destination</th>
                  <SortHeader label="Agent" sortKey="agent" query={query} onSort={onSort} />
                  <SortHeader label="Rows copied" sortKey="rows" query={query} onSort={onSort} className="num" />
                  <SortHeader label="Lag" sortKey="lag" query={query} onSort={onSort} className="num" />
                  <SortHeader label="Last error" sortKey="error" query={query} onSort={onSort} />
                  {canOperate && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {page.map((s) => (
                  <tr key={s.id} data-sync={s.id}>
                    <th scope="row">
                      <Link to={`/syncs/${encodeURIComponent(s.id)}`}>{s.name}</Link>
                      {s.name !== s.id && <div className="muted small">{s.id}</div>}
                    </th>
                    <td>
                      <StateBadge state={displayState(s)} detail={detailOf(s)} />
                    </td>
                    <td className="small">
                      {endpoint(s.source)} → {endpoint(s.destination)}
                      <div className="muted">mode {s.mode}</div>
                    </td>
                    <td className="nowrap">{agentOf(s) ?? <span className="muted">—</span>}</td>
                    <td className="num">{formatCount(s.status?.rowsCopied)}</td>
                    <td className="num">{s.status?.lag?.rows !== undefined ? formatCount(s.status.lag.rows) : formatSeconds(s.status?.lag?.seconds)}</td>
                    <td className="last-error">
                      {s.status?.lastError ? (
                        <>
                          <span className="error-text">{s.status.lastError.message}</span>
                          <div className="muted small">{formatAgo(s.status.lastError.at)}</div>
                        </>
                      ) : s.deadLetters > 0 ? (
                        <span>{formatCount(s.deadLetters)} rows set aside</span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    {canOperate && (
                      <td className="row-actions">
                        <PauseResumeButton id={s.id} enabled={s.enabled} />
                        <button type="button" onClick={() => setDialog({ kind: 'duplicate', sync: s })} aria-label={`Duplicate ${s.id}`}>
                          Duplicate
                        </button>
                        <button type="button" className="danger-text" onClick={() => setDialog({ kind: 'delete', sync: s })} aria-label={`Delete ${s.id}`}>
                          Delete
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={pageIndex <= 1} onClick={() => update({ page: String(pageIndex - 1) })}>
              Previous
            </button>
            <span>
              Page {pageIndex} of {pages} · {total} sync{total === 1 ? '' : 's'}
            </span>
            <button type="button" disabled={pageIndex >= pages} onClick={() => update({ page: String(pageIndex + 1) })}>
              Next
            </button>
          </nav>
        </>
      )}
      {dialog?.kind === 'import' && <ImportDialog onClose={() => setDialog(undefined)} />}
      {dialog?.kind === 'duplicate' && <DuplicateDialog id={dialog.sync.id} name={dialog.sync.name} onClose={() => setDialog(undefined)} />}
      {dialog?.kind === 'delete' && <DeleteSyncDialog id={dialog.sync.id} onClose={() => setDialog(undefined)} />}
    </Page>
  );
}
