import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../cluster/snapshot.ts';
import { validateSyncConfig } from '../model/sync.ts';
import { newSyncStatus, type SyncStatus } from '../runner/status.ts';
import { evaluateIncidents, type IncidentChanges } from './incidents.ts';
import { validateChannel, validateRule, type Incident, type Rule } from './notify-model.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;

const sync = (id: string, extra: Record<string, unknown> = {}) =>
  validateSyncConfig({
    id,
    source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, table: 't' },
    destination: { connector: 'sqlite', connection: { file: '/tmp/b.db' }, table: 't' },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    ...extra,
  });

function snapshot(statuses: Record<string, Partial<SyncStatus>>, opts: { paused?: string[]; agents?: string[] } = {}): ClusterSnapshot {
  const ids = Object.keys(statuses);
  return {
    agents: opts.agents ?? ['a1'],
    leader: 'a1',
    syncs: ids.map((id) => sync(id, { enabled: !opts.paused?.includes(id), lagThreshold: { rows: 100 } })),
    statuses: new Map(ids.map((id) => [id, newSyncStatus(id, 'a1', statuses[id])])),
    assignments: new Map(ids.map((id) => [id, { agentId: 'a1', epoch: 1 }])),
    unassigned: new Map(),
  };
}

/** Runs evaluations in turn, keeping the incidents as the leader stores them. */
function leader(rules: Rule[]) {
  const incidents = new Map<string, Incident>();
  return (snap: ClusterSnapshot, now: number): IncidentChanges => {
    const changes = evaluateIncidents(rules, snap, incidents, now);
    for (const i of changes.put) incidents.set(i.id, i);
    for (const i of changes.remove) incidents.delete(i.id);
    return changes;
  };
}

const failed = {
  state: 'failed' as const,
  failingSince: new Date(T0).toISOString(),
  lastError: { message: 'no such table: t', code: 'IDRA_ERR_CONNECTOR', at: new Date(T0).toISOString() },
};
const retrying = { ...failed, state: 'retrying' as const, lastError: { ...failed.lastError, message: 'connection refused' } };
const types = (c: IncidentChanges) => c.messages.map((m) => `${m.event.type} ${m.event.incident.id}`);

describe('evaluateIncidents', () => {
  it('a failed sync: one message when it fails, none while it stays failed, one when it recovers', () => {
    const pass = leader([validateRule({ id: 'r', channels: ['c'] })]);
    const first = pass(snapshot({ s1: failed }), T0 + 1000);
    expect(types(first)).toEqual(['opened r/sync-failing/s1']);
    expect(first.messages[0]!.event.text).toBe('Idra sync s1 failed: no such table: t');
    expect(first.messages[0]!.channels).toEqual(['c']);
    expect(types(pass(snapshot({ s1: { ...failed, attempts: 5 } }), T0 + 60_000))).toEqual([]);
    const back = pass(snapshot({ s1: { state: 'idle' } }), T0 + 120_000);
    expect(types(back)).toEqual(['recovered r/sync-failing/s1']);
    expect(back.messages[0]!.event.text).toBe('Idra sync s1 recovered: healthy (caught up)');
    expect(types(pass(snapshot({ s1: { state: 'idle' } }), T0 + 180_000))).toEqual([]);
  });

  it('a handoff or restart in between (unassigned, starting) neither closes nor repeats the incident', () => {
    const pass = leader([validateRule({ id: 'r', channels: ['c'] })]);
    expect(types(pass(snapshot({ s1: failed }), T0))).toEqual(['opened r/sync-failing/s1']);
    const handedOver = snapshot({ s1: { state: 'stopped' } });
    handedOver.assignments.delete('s1');
    expect(types(pass(handedOver, T0 + 1000))).toEqual([]);
    expect(types(pass(snapshot({ s1: { state: 'starting' } }), T0 + 2000))).toEqual([]);
    expect(types(pass(snapshot({ s1: failed }), T0 + 3000))).toEqual([]);
    expect(types(pass(snapshot({ s1: { state: 'running' } }), T0 + 4000))).toEqual(['recovered r/sync-failing/s1']);
  });

  it('retrying for N minutes: silent while shorter, then one message; a short retry is never told', () => {
    const pass = leader([validateRule({ id: 'r', channels: ['c'], onRetryingMinutes: 10 })]);
    expect(types(pass(snapshot({ s1: retrying }), T0 + 5 * MIN))).toEqual([]);
    expect(types(pass(snapshot({ s1: retrying }), T0 + 10 * MIN))).toEqual(['opened r/sync-failing/s1']);
    const quiet = leader([validateRule({ id: 'r', channels: ['c'], onRetryingMinutes: 10 })]);
    expect(types(quiet(snapshot({ s1: retrying }), T0 + MIN))).toEqual([]);
    // Recovered before 10 minutes: the pending incident goes without a word.
    const gone = quiet(snapshot({ s1: { state: 'running' } }), T0 + 2 * MIN);
    expect([types(gone), gone.remove.map((i) => i.state)]).toEqual([[], ['pending']]);
  });

  it('lagging for N minutes, counted from when the leader first saw it; agents below a minimum', () => {
    const pass = leader([validateRule({ id: 'r', channels: ['c'], onFailed: false, onLagMinutes: 15, onAgentsBelow: 2 })]);
    const behind = { state: 'running' as const, lag: { rows: 5000 } };
    const first = pass(snapshot({ s1: behind }, { agents: ['a1'] }), T0);
    expect(types(first)).toEqual(['opened r/agents/-']);
    expect(first.messages[0]!.event.text).toBe('Idra agents: fewer agents than 2: 1 registered (a1)');
    expect(types(pass(snapshot({ s1: behind }, { agents: ['a1'] }), T0 + 14 * MIN))).toEqual([]);
    expect(types(pass(snapshot({ s1: behind }, { agents: ['a1', 'a2'] }), T0 + 15 * MIN))).toEqual(['opened r/sync-lagging/s1', 'recovered r/agents/-']);
    // onFailed: false: a failed sync is not told.
    expect(types(pass(snapshot({ s1: failed }, { agents: ['a1', 'a2'] }), T0 + 16 * MIN))).toEqual(['recovered r/sync-lagging/s1']);
  });

  it('nothing for a paused sync nor for syncs the rule does not watch; a paused sync closes its incident', () => {
    const pass = leader([validateRule({ id: 'r', channels: ['c'], syncs: ['s1', 's2'] })]);
    expect(types(pass(snapshot({ s1: failed, s2: failed, s3: failed }, { paused: ['s2'] }), T0))).toEqual(['opened r/sync-failing/s1']);
    const paused = pass(snapshot({ s1: failed, s2: failed, s3: failed }, { paused: ['s1', 's2'] }), T0 + MIN);
    expect(paused.messages.map((m) => m.event.text)).toEqual(['Idra sync s1 was paused']);
  });

  it('a rule disabled or deleted closes its incidents without a message', () => {
    const rule = validateRule({ id: 'r', channels: ['c'] });
    const incidents = new Map<string, Incident>();
    for (const i of evaluateIncidents([rule], snapshot({ s1: failed }), incidents, T0).put) incidents.set(i.id, i);
    const after = evaluateIncidents([{ ...rule, enabled: false }], snapshot({ s1: failed }), incidents, T0 + MIN);
    expect([after.remove.length, after.messages]).toEqual([1, []]);
  });
});

describe('channel and rule validation', () => {
  it('names the field at fault', () => {
    expect(() => validateChannel({ id: 'c', kind: 'webhook', url: 'ftp://x' })).toThrow('url: must be an http:// or https:// URL');
    expect(() => validateChannel({ id: 'c', kind: 'webhook', url: 'https://x', secret: 'short' })).toThrow(/secret: .*16/);
    expect(() => validateChannel({ id: 'c', kind: 'slack', url: 'https://x', secret: 'a-long-enough-secret' })).toThrow(/secret: is for webhook channels only/);
    expect(() => validateChannel({ id: 'c', kind: 'email', url: 'https://x' })).toThrow(/kind/);
    expect(() => validateRule({ id: 'r', channels: [] })).toThrow(/channels/);
    expect(() => validateRule({ id: 'r', channels: ['c'], onFailed: false })).toThrow(/watches for nothing/);
    expect(() => validateRule({ id: 'r', channels: ['c'], onLagMinutes: -1 })).toThrow(/onLagMinutes/);
  });
});
