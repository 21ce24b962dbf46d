import type { Namespace } from 'etcd3';
import { KEYS, sequenceKey } from './keys.ts';

/** An agent that left the cluster, as the leader saw it, and where its syncs went. */
export interface AgentEvent {
  at: string;
  agentId: string;
  /** `stopped`: it said it was stopping (SIGTERM) before its lease ended; `lost`: its lease expired (killed, frozen, cut off). */
  kind: 'stopped' | 'lost';
  /** Each sync it ran and the agent the leader gave it to (null: no agent left to take it). */
  moved: Array<{ syncId: string; to: string | null }>;
}

/** Agent events are kept this long. @default 7 days */
export const AGENT_EVENT_RETENTION_MS = 7 * 24 * 3_600_000;

/** The etcd operations that store `events` and drop what is older than the retention (for the leader's guarded transaction). */
export function agentEventOps(ns: Namespace, events: readonly AgentEvent[], nowMs = Date.now()) {
  const puts = events.map((e, i) => ns.put(KEYS.agentEvents + sequenceKey(nowMs, i)).value(JSON.stringify(e)));
  const cutoff = KEYS.agentEvents + String(nowMs - AGENT_EVENT_RETENTION_MS).padStart(15, '0');
  return events.length === 0 ? [] : [...puts, ns.delete().inRange({ start: KEYS.agentEvents, end: cutoff })];
}

/** The newest agent events first, at most `limit`. */
export async function readAgentEvents(ns: Namespace, limit = 50): Promise<AgentEvent[]> {
  const all = await ns.getAll().prefix(KEYS.agentEvents).sort('Key', 'Descend').limit(limit).strings();
  return Object.values(all).map((text) => JSON.parse(text) as AgentEvent);
}
