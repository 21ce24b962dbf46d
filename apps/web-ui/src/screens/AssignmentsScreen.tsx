import { Link } from 'react-router';
import { useOverview } from '../api/queries.ts';
import { Page } from '../components/Page.tsx';
import { EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';

/** Which agent each sync is assigned to, and which agent actually holds its lock now. */
export function AssignmentsScreen() {
  const overview = useOverview();
  return (
    <Page title="Assignments" subtitle="Written by the leader agent. An agent runs a sync only while it holds both the assignment and the sync's lock.">
      {overview.isPending ? (
        <Loading what="assignments" />
      ) : overview.isError ? (
        <ErrorState error={overview.error} what="the assignments" onRetry={() => void overview.refetch()} />
      ) : overview.data.length === 0 ? (
        <EmptyState title="No sync to assign" />
      ) : (
        <div className="table-wrap">
          <table>
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
              {[...overview.data]
                .sort((a, b) => (a.assignment?.agentId ?? '~').localeCompare(b.assignment?.agentId ?? '~') || a.id.localeCompare(b.id))
                .map((o) => (
                  <tr key={o.id}>
                    <th scope="row">
                      <Link to={`/syncs/${encodeURIComponent(o.id)}`}>{o.id}</Link>
                    </th>
                    <td>
                      <HealthBadge health={o.health} />
                    </td>
                    <td>{o.assignment?.agentId ?? <span className="muted">{o.enabled ? 'unassigned' : 'paused'}</span>}</td>
                    <td>{o.assignment?.epoch ?? '—'}</td>
                    <td>
                      {o.runningOn ?? <span className="muted">nobody</span>}
                      {o.runningOn && o.assignment && o.runningOn !== o.assignment.agentId && <span className="warning-text"> (moving)</span>}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
