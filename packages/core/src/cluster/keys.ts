/**
 * The etcd key layout (ARCHITECTURE §4), relative to the cluster prefix (default `/idra/`).
 * All shared state lives under these keys; nothing else is written to etcd.
 */
export const KEYS = {
  agents: 'agents/',
  agent: (agentId: string) => `agents/${agentId}`,
  /** Agents that left (stopped or lost) and where their syncs went, written by the leader: `agent-events/<seq>`. */
  agentEvents: 'agent-events/',
  /** etcd election name; candidates' keys are `election/leader/<leaseId>`. */
  election: 'leader',
  assignments: 'assignments/',
  assignment: (syncId: string) => `assignments/${syncId}`,
  locks: 'locks/',
  lock: (syncId: string) => `locks/${syncId}`,
  syncs: 'syncs/',
  sync: (syncId: string) => `syncs/${syncId}`,
  dataSources: 'datasources/',
  dataSource: (id: string) => `datasources/${id}`,
  users: 'users/',
  user: (name: string) => `users/${name}`,
  tokens: 'tokens/',
  token: (id: string) => `tokens/${id}`,
  offsets: 'offsets/',
  offset: (syncId: string) => `offsets/${syncId}`,
  offsetHistory: (syncId: string) => `offsets-history/${syncId}/`,
  statuses: 'status/',
  status: (syncId: string) => `status/${syncId}`,
  errors: (syncId: string) => `errors/${syncId}/`,
  /** Change history (`HistoryStore`): `history/syncs/<id>/<n>`, `history/datasources/<id>/<n>`. */
  history: (kind: 'sync' | 'dataSource', id: string) => `history/${kind === 'sync' ? 'syncs' : 'datasources'}/${id}/`,
  allErrors: 'errors/',
  /** Written by the API when an operator asks for an attempt now; the sync's agent watches it. */
  activity: (syncId: string) => `activity/${syncId}/`,
  timeline: (syncId: string) => `timeline/${syncId}/`,
  retries: 'retry/',
  retry: (syncId: string) => `retry/${syncId}`,
  /** Rate-limited attempts (logins, password changes, test connections) counted across API servers; each key on a lease of its window. */
  attempts: (hash: string) => `attempts/${hash}`,
  /** Notification channels (secrets sealed) and rules, written by the API. */
  notifyChannels: 'notify/channels/',
  notifyChannel: (id: string) => `notify/channels/${id}`,
  notifyRules: 'notify/rules/',
  notifyRule: (id: string) => `notify/rules/${id}`,
  /** Incidents (`notify/incidents/<ruleId>/<kind>/<subject>`), messages to send and the delivery log: written by the leader only. */
  notifyIncidents: 'notify/incidents/',
  notifyOutbox: 'notify/outbox/',
  notifyDeliveries: 'notify/deliveries/',
  /** Data-source concurrency (`DataSourceSlots`): one key per sync waiting for or holding a slot, on its agent's lease. */
  allSlots: 'slots/',
  slots: (dataSourceId: string) => `slots/${dataSourceId}/`,
  slot: (dataSourceId: string, syncId: string) => `slots/${dataSourceId}/${syncId}`,
  /** Bumped by every slot grant of a data source, so that two grants computed from one view cannot both commit. */
  slotTurn: (dataSourceId: string) => `slot-turns/${dataSourceId}`,
  /** Written by the leader for an enabled sync no agent may run, with the reason (no agent matches its placement …). */
  allUnassigned: 'unassigned/',
  unassigned: (syncId: string) => `unassigned/${syncId}`,
} as const;

/** The id at the end of a key under one of the prefixes above (`assignments/x` → `x`). */
export function idOf(key: string, prefix: string): string {
  return key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

/**
 * A key that sorts in time order: zero-padded milliseconds, then `index` (the order of keys made in
 * the same millisecond, e.g. the rows of one batch) and a random part, 8 characters in all.
 */
export function sequenceKey(now = Date.now(), index = 0): string {
  return `${String(now).padStart(15, '0')}-${index.toString(36).padStart(4, '0')}${Math.random().toString(36).slice(2, 6).padEnd(4, '0')}`;
}
