import type { AgentView } from '@idra/api-client';

/** An agent's labels (`--labels region=eu`), as badges; syncs whose placement asks for them run only there. */
export function AgentLabels({ labels }: { labels: AgentView['labels'] }) {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="inline-list">
      {entries.map(([name, value]) => (
        <li key={name}>
          <span className="badge">
            {name}={value}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** How many syncs an agent runs against its `--max-syncs` capacity. */
export function AgentCapacity({ agent }: { agent: Pick<AgentView, 'syncs' | 'capacity'> }) {
  if (agent.capacity === undefined) return <span title="no --max-syncs: no limit">{agent.syncs.length} / no limit</span>;
  const full = agent.syncs.length >= agent.capacity;
  return (
    <span className={full ? 'badge warn' : undefined} title={full ? 'at capacity: the leader gives it no more syncs' : undefined}>
      {agent.syncs.length} / {agent.capacity}
    </span>
  );
}
