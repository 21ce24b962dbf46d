import { Link, useSearchParams } from 'react-router';
import { useOverviewPage } from '../api/queries.ts';
import { Page } from '../components/Page.tsx';
import { Pager } from '../components/Pager.tsx';
import { EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';
import { readOverviewQuery } from '@idra/core/health';

/** Rows per page: a page of the assignments is one agent's share of a few hundred syncs at a glance. */
const PAGE_SIZE = 100;

/** Which agent each sync is assigned to, and which agent actually holds its lock now (by agent, then name, a page at a time). */
export function AssignmentsScreen() {
  const [params, setParams] = useSearchParams();
  const overview = useOverviewPage({ q: '', health: '', sort: 'agent', dir: 'asc', page: readOverviewQuery(params).page, pageSize: PAGE_SIZE });
  return (
    <Page title="Assignments" subtitle="Written by the leader agent. An agent runs a sync only while it holds both the assignment and the sync's lock.">
      {overview.isPending ? (
        <Loading what="assignments" />
      ) : overview.isError ? (
        <ErrorState error={overview.error} what="the assignments" onRetry={() => void overview.refetch()} />
      ) : overview.data.total === 0 ? (
        <EmptyState title="No sync to assign" />
      ) : (
        <>
          <div className="table-wrap">
            <table className="cards-on-phone">
              <thead>
                <tr>
                  <th scope="col">Sync</th>
                  <th scope="col">Health</th>
                  <th scope="col">Assigned to</th>
                  <th scope="col">Epoch</th>
                  <th scope="col">Lock held by</th>
                </tr>
              </thead>
              <tbody>
                {overview.data.items.map((o) => (
                  <tr key={o.id}>
                    <th scope="row">
                      <Link to={`/syncs/${encodeURIComponent(o.id)}`}>{o.name}</Link>
                      {o.name !== o.id && <div className="muted small">{o.id}</div>}
                    </th>
                    <td data-label="Health">
                      <HealthBadge health={o.health} />
                    </td>
                    <td data-label="Assigned to">{o.assignment?.agentId ?? <span className="muted">{o.enabled ? 'unassigned' : 'paused'}</span>}</td>
                    <td data-label="Epoch">{o.assignment?.epoch ?? '—'}</td>
                    <td data-label="Lock held by">
                      {o.runningOn ?? <span className="muted">nobody</span>}
                      {o.runningOn && o.assignment && o.runningOn !== o.assignment.agentId && <span className="warning-text"> (moving)</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {overview.data.pages > 1 && (
            <Pager
              page={overview.data.page}
              pages={overview.data.pages}
              total={overview.data.total}
              noun="sync"
              onPage={(p) => setParams(new URLSearchParams({ page: String(p) }), { replace: true })}
            />
          )}
        </>
      )}
    </Page>
  );
}
