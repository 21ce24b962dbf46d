import { snapshotHealth, type ClusterSnapshot } from '../cluster/snapshot.ts';
import type { Health } from '../health/health.ts';
import type { Incident, IncidentKind, NotificationEvent, Rule } from './notify-model.ts';

/** A condition a rule watches for, as it holds now. */
interface Condition {
  id: string;
  kind: IncidentKind;
  syncId?: string | undefined;
  health?: Health | undefined;
  reason: string;
  /** When it began, when the cluster says (a sync's failingSince); else the incident's first sight. */
  since: string | undefined;
  /** How long it must last before it is told. */
  afterMs: number;
}

/** What one evaluation changes: incidents to write, incidents to delete, messages to send. */
export interface IncidentChanges {
  put: Incident[];
  remove: Incident[];
  messages: Array<{ event: NotificationEvent; channels: string[] }>;
}

const MINUTE = 60_000;

function conditions(rule: Rule, snapshot: ClusterSnapshot): Condition[] {
  const found: Condition[] = [];
  const watched = rule.syncs && rule.syncs.length > 0 ? new Set(rule.syncs) : undefined;
  for (const sync of snapshot.syncs) {
    if (watched && !watched.has(sync.id)) continue;
    const { health, reason, failingSince } = snapshotHealth(snapshot, sync);
    const base = { syncId: sync.id, health, reason, since: failingSince };
    if (health === 'failed' && rule.onFailed !== false) found.push({ ...base, id: `${rule.id}/sync-failing/${sync.id}`, kind: 'sync-failing', afterMs: 0 });
    else if ((health === 'failed' || health === 'retrying') && rule.onRetryingMinutes !== undefined) {
      found.push({ ...base, id: `${rule.id}/sync-failing/${sync.id}`, kind: 'sync-failing', afterMs: rule.onRetryingMinutes * MINUTE });
    }
    if (health === 'lagging' && rule.onLagMinutes !== undefined) {
      found.push({ ...base, since: undefined, id: `${rule.id}/sync-lagging/${sync.id}`, kind: 'sync-lagging', afterMs: rule.onLagMinutes * MINUTE });
    }
  }
  if (rule.onAgentsBelow !== undefined && snapshot.agents.length < rule.onAgentsBelow) {
    const agents = snapshot.agents.length === 0 ? 'no agent is registered' : `${snapshot.agents.length} registered (${snapshot.agents.join(', ')})`;
    found.push({ id: `${rule.id}/agents/-`, kind: 'agents', reason: `fewer agents than ${rule.onAgentsBelow}: ${agents}`, since: undefined, afterMs: 0 });
  }
  return found;
}

/**
 * A sync being handed over or (re)starting has no verdict yet (unassigned, or its agent has not
 * reported past `starting`): its incident neither opens nor closes meanwhile, so that a failover or a
 * restart does not send "recovered" and then the same failure again.
 */
function undecided(snapshot: ClusterSnapshot, syncId: string | undefined): boolean {
  const sync = snapshot.syncs.find((s) => s.id === syncId);
  if (!sync || sync.enabled === false) return false;
  const state = snapshot.statuses.get(sync.id)?.state;
  return !snapshot.assignments.has(sync.id) || state === undefined || state === 'starting' || state === 'stopped';
}

function subject(i: Pick<Incident, 'kind' | 'syncId'>): string {
  return i.kind === 'agents' ? 'Idra agents' : `Idra sync ${i.syncId}`;
}

function openedText(i: Incident): string {
  if (i.kind === 'agents') return `${subject(i)}: ${i.reason}`;
  const what = i.kind === 'sync-lagging' ? 'is lagging' : i.health === 'failed' ? 'failed' : 'keeps retrying';
  return `${subject(i)} ${what}: ${i.reason}`;
}

/** Why an open incident closed, for its recovery message. */
function closedText(i: Incident, snapshot: ClusterSnapshot): string {
  if (i.kind === 'agents') return `${subject(i)} recovered: ${snapshot.agents.length} registered`;
  const sync = snapshot.syncs.find((s) => s.id === i.syncId);
  if (!sync) return `${subject(i)} was deleted`;
  const { health, reason } = snapshotHealth(snapshot, sync);
  if (health === 'paused') return `${subject(i)} was paused`;
  return `${subject(i)} recovered: ${health} (${reason})`;
}

function event(type: 'opened' | 'recovered', i: Incident, at: string, text: string, closedAt?: string): NotificationEvent {
  const { id, kind, syncId, since, openedAt, health, reason } = i;
  return { id: `${id}@${openedAt}:${type}`, type, at, ruleId: i.ruleId, incident: { id, kind, syncId, since, openedAt, health, reason, closedAt }, text };
}

/**
 * One pass of the leader over every rule: opens an incident (and queues its one message) when a
 * condition has lasted long enough, closes it (one recovery message) when the condition is gone, and
 * keeps a pending one silent. Pure: the caller reads the cluster and writes what this returns.
 */
export function evaluateIncidents(rules: readonly Rule[], snapshot: ClusterSnapshot, incidents: ReadonlyMap<string, Incident>, now: number): IncidentChanges {
  const changes: IncidentChanges = { put: [], remove: [], messages: [] };
  const at = new Date(now).toISOString();
  const live = new Set<string>();
  for (const rule of rules) {
    if (rule.enabled === false) continue;
    for (const c of conditions(rule, snapshot)) {
      live.add(c.id);
      const known = incidents.get(c.id);
      if (known?.state === 'open') continue;
      const since = known?.since ?? c.since ?? at;
      const due = now - Date.parse(since) >= c.afterMs;
      const incident: Incident = {
        id: c.id,
        ruleId: rule.id,
        kind: c.kind,
        syncId: c.syncId,
        state: due ? 'open' : 'pending',
        since,
        health: c.health,
        reason: c.reason,
      };
      if (!due) {
        if (!known) changes.put.push(incident);
        continue;
      }
      incident.openedAt = at;
      changes.put.push(incident);
      changes.messages.push({ event: event('opened', incident, at, openedText(incident)), channels: rule.channels });
    }
  }
  const rulesById = new Map(rules.filter((r) => r.enabled !== false).map((r) => [r.id, r]));
  for (const incident of incidents.values()) {
    if (live.has(incident.id) || (incident.kind !== 'agents' && undecided(snapshot, incident.syncId))) continue;
    changes.remove.push(incident);
    const rule = rulesById.get(incident.ruleId);
    // A rule deleted or disabled meanwhile closes its incidents without a word: no one asks for them any more.
    if (incident.state === 'open' && rule)
      changes.messages.push({ event: event('recovered', incident, at, closedText(incident, snapshot), at), channels: rule.channels });
  }
  return changes;
}
