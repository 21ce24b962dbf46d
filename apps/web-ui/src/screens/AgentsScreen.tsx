import { Link } from 'react-router';
import { useAgents } from '../api/queries.ts';
import { Page } from '../components/Page.tsx';
import { AgentCapacity, AgentLabels } from '../components/Placement.tsx';
import { EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { formatAgo, formatDateTime } from '../lib/format.ts';

/** Agents registered in etcd (alive while their lease is), the leader, and what each was given. */
export function AgentsScreen() {
  const agents = useAgents();
  return (
    <Page
      title="Agents"
      subtitle="An agent is listed while its etcd lease lives; the leader assigns the syncs, each to an agent whose labels match its placement."
    >
      {agents.isPending ? (
        <Loading what="agents" />
      ) : agents.isError ? (
        <ErrorState error={agents.error} what="the agents" onRetry={() => void agents.refetch()} />
      ) : agents.data.length === 0 ? (
        <EmptyState title="No agent is running">
          <p>
            Start one with <code>idra-agent --etcd &lt;endpoints&gt;</code>; enabled syncs stay unassigned until then.
          </p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Role</th>
                <th scope="col">Labels</th>
                <th scope="col">Syncs / max</th>
                <th scope="col">Host / pid</th>
                <th scope="col">Version</th>
                <th scope="col">Started</th>
                <th scope="col">Assigned syncs</th>
              </tr>
            </thead>
            <tbody>
              {[...agents.data]
                .sort((a, b) => Number(b.leader) - Number(a.leader) || a.agentId.localeCompare(b.agentId))
                .map((a) => (
                  <tr key={a.agentId}>
                    <th scope="row">{a.agentId}</th>
                    <td>{a.leader ? <span className="badge ok">leader</span> : 'member'}</td>
                    <td>
                      <AgentLabels labels={a.labels} />
                    </td>
                    <td>
                      <AgentCapacity agent={a} />
                    </td>
                    <td>
                      {a.host} / {a.pid}
                    </td>
                    <td>{a.version}</td>
                    <td title={formatDateTime(a.startedAt)}>{formatAgo(a.startedAt)}</td>
                    <td>
                      {a.syncs.length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        <ul className="inline-list">
                          {a.syncs.map((s) => (
                            <li key={s}>
                              <Link to={`/syncs/${encodeURIComponent(s)}`}>{s}</Link>
                            </li>
                          ))}
                        </ul>
                      )}
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
