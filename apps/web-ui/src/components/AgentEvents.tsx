import { Link } from 'react-router';
import { useAgentEvents } from '../api/queries.ts';
import { Section } from './Page.tsx';
import { ErrorState, Loading } from './Status.tsx';
import { formatAgo, formatDateTime } from '../lib/format.ts';

/** Agents that left the cluster, newest first: when, whether stopped or lost, and which agent took each of their syncs. */
export function AgentEvents() {
  const events = useAgentEvents();
  if (events.data?.length === 0) return null;
  return (
    <Section title="Agents that left">
      {events.isPending ? (
        <Loading what="agent changes" />
      ) : events.isError ? (
        <ErrorState error={events.error} what="the agents that left" onRetry={() => void events.refetch()} />
      ) : (
        <ul className="event-list">
          {events.data.slice(0, 10).map((e) => (
            <li key={`${e.at}-${e.agentId}`} data-agent-event={e.agentId}>
              <span className={e.kind === 'lost' ? 'badge bad' : 'badge'}>{e.kind}</span> agent <strong>{e.agentId}</strong> {e.kind} at{' '}
              <time dateTime={e.at}>{formatDateTime(e.at)}</time> <span className="muted">({formatAgo(e.at)})</span>
              {e.moved.length === 0 ? (
                <p className="muted small">It ran no sync.</p>
              ) : (
                <p className="small">
                  Its syncs went to:{' '}
                  {e.moved.map((m, i) => (
                    <span key={m.syncId}>
                      {i > 0 && ', '}
                      <Link to={`/syncs/${encodeURIComponent(m.syncId)}`}>{m.syncId}</Link> → {m.to ?? <em>no agent (unassigned)</em>}
                    </span>
                  ))}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
