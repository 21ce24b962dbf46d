import { Link } from 'react-router';
import { useAgents, useAssignments, useCluster, useErrorSummary, useOverviewSummary } from '../api/queries.ts';
import { Page, Section } from '../components/Page.tsx';
import { EmptyState, ErrorState, Loading } from '../components/Status.tsx';
import { HealthBadge } from '../components/HealthBadge.tsx';
import { SyncSparklines } from '../components/SyncCharts.tsx';
import { AgentEvents } from '../components/AgentEvents.tsx';
import { lagSummary, rowsOf } from '@idra/core/health';
import { formatAgo, formatBytes, formatCount } from '../lib/format.ts';
import type { SyncOverview } from '@idra/api-client';

function Counter({ label, value, tone, to }: { label: string; value: number | undefined; tone?: 'bad' | 'warn'; to?: string }) {
  const body = (
    <>
      <span className="counter-value">{value === undefined ? '…' : formatCount(value)}</span>
      <span className="counter-label">{label}</span>
    </>
  );
  return <li className={`counter${tone && value ? ` ${tone}` : ''}`}>{to ? <Link to={to}>{body}</Link> : body}</li>;
}

function ClusterHealthCard() {
  const cluster = useCluster();
  const agents = useAgents();
  const leader = agents.data?.find((a) => a.leader);
  return (
    <Section title="Cluster health">
      {cluster.isPending ? (
        <Loading what="cluster health" />
      ) : cluster.isError ? (
        <ErrorState error={cluster.error} what="the etcd cluster's health" onRetry={() => void cluster.refetch()} />
      ) : (
        <>
          <p className="health-line">
            <span className={`badge ${cluster.data.healthy ? 'ok' : 'bad'}`}>{cluster.data.healthy ? 'healthy' : 'unhealthy'}</span> etcd,{' '}
            {cluster.data.members.length} member
            {cluster.data.members.length === 1 ? '' : 's'} · leader agent: <strong>{leader ? leader.agentId : agents.isPending ? '…' : 'none'}</strong> · prefix{' '}
            <code>{cluster.data.prefix}</code>
          </p>
          <div className="table-wrap">
            <table className="cards-on-phone">
              <caption className="sr-only">etcd members</caption>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Client URLs</th>
                  <th scope="col">Role</th>
                  <th scope="col">Version</th>
                  <th scope="col">DB size</th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                {cluster.data.members.map((m) => (
                  <tr key={m.id}>
                    <td>{m.name || m.id}</td>
                    <td data-label="Client URLs">{m.clientURLs.join(', ')}</td>
                    <td data-label="Role">{m.isLeader ? 'leader' : 'follower'}</td>
                    <td data-label="Version">{m.version ?? '—'}</td>
                    <td data-label="DB size">{formatBytes(m.dbSize)}</td>
                    <td data-label="Problem" className={m.error ? 'error-text' : undefined}>
                      {m.error ?? '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Section>
  );
}

function ThroughputRow({ sync }: { sync: SyncOverview }) {
  return (
    <tr>
      <th scope="row">
        <Link to={`/syncs/${encodeURIComponent(sync.id)}`}>{sync.name}</Link>
      </th>
      <td>
        <HealthBadge health={sync.health} />
      </td>
      <td data-label="Rows copied" className="num">
        {formatCount(rowsOf(sync))}
      </td>
      <td data-label="Lag" className="num" title={lagSummary(sync.status?.lag).other}>
        {lagSummary(sync.status?.lag).text}
      </td>
      <td>
        <SyncSparklines syncId={sync.id} />
      </td>
      <td data-label="Reported" className="num">
        {formatAgo(sync.status?.updatedAt)}
      </td>
    </tr>
  );
}

/** Health, counts, recent throughput and lag, and recent errors of the whole cluster. */
export function DashboardScreen() {
  // Counts, the charted syncs (problems first, then the busiest) and the newest errors come summarised by the server.
  const overview = useOverviewSummary();
  const agents = useAgents();
  const assignments = useAssignments();
  const errors = useErrorSummary();
  const counts = overview.data?.counts;
  const charted = overview.data?.busiest ?? [];
  const recentErrors = overview.data?.recentErrors ?? [];
  const deadLetters = (errors.data ?? []).filter((e) => e.count > 0);
  return (
    <Page title="Dashboard">
      <ul className="counters" aria-label="Counts">
        <Counter label="syncs" value={counts?.all} to="/syncs" />
        <Counter label="failed" value={counts?.failed} tone="bad" to="/syncs?health=failed" />
        <Counter label="retrying" value={counts?.retrying} tone="bad" to="/syncs?health=retrying" />
        <Counter label="lagging" value={counts?.lagging} tone="warn" to="/syncs?health=lagging" />
        <Counter label="unassigned" value={counts?.unassigned} tone="warn" to="/syncs?health=unassigned" />
        <Counter label="healthy" value={counts?.healthy} to="/syncs?health=healthy" />
        <Counter label="paused" value={counts?.paused} to="/syncs?health=paused" />
        <Counter label="agents" value={agents.data?.length} to="/agents" />
        <Counter label="assignments" value={assignments.data?.length} to="/assignments" />
      </ul>
      <ClusterHealthCard />
      <AgentEvents />
      <Section title="Throughput and lag">
        {overview.isPending ? (
          <Loading what="syncs" />
        ) : overview.isError ? (
          <ErrorState error={overview.error} what="the syncs" onRetry={() => void overview.refetch()} />
        ) : charted.length === 0 ? (
          <EmptyState title="No enabled sync">
            <p>
              <Link to="/syncs/new">Create a sync</Link> or resume one to see its throughput here.
            </p>
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="cards-on-phone">
              <caption className="sr-only">Throughput and lag over the last hour, as the agents stored them</caption>
              <thead>
                <tr>
                  <th scope="col">Sync</th>
                  <th scope="col">State</th>
                  <th scope="col" className="num">
                    Rows copied
                  </th>
                  <th scope="col" className="num">
                    Lag
                  </th>
                  <th scope="col">Last hour</th>
                  <th scope="col" className="num">
                    Reported
                  </th>
                </tr>
              </thead>
              <tbody>
                {charted.map((s) => (
                  <ThroughputRow key={s.id} sync={s} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="Recent errors">
        {overview.isPending ? (
          <Loading what="errors" />
        ) : recentErrors.length === 0 && deadLetters.length === 0 ? (
          <EmptyState title="No errors reported" />
        ) : (
          <ul className="error-list">
            {recentErrors.map((r) => (
              <li key={r.id}>
                <Link to={`/syncs/${encodeURIComponent(r.id)}`}>{r.name}</Link> <span className="muted">{formatAgo(r.status!.lastError!.at)}</span>
                <p className="error-text">{r.status!.lastError!.message}</p>
                <span className="code">{r.status!.lastError!.code}</span>
              </li>
            ))}
            {deadLetters.map((e) => (
              <li key={`dl-${e.syncId}`}>
                <Link to={`/syncs/${encodeURIComponent(e.syncId)}#dead-letters`}>{e.syncId}</Link>: {formatCount(e.count)} rejected row
                {e.count === 1 ? '' : 's'} set aside
              </li>
            ))}
          </ul>
        )}
      </Section>
    </Page>
  );
}
