import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { NotificationChannel, NotificationRule } from '@idra/api-client';
import { useClient } from '../../api/client-context.tsx';
import { useCan } from '../../api/session.tsx';
import { Page, Section } from '../../components/Page.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { useNotify } from '../../components/Notify.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/Status.tsx';
import { formatAgo, formatDateTime } from '../../lib/format.ts';
import { ChannelDialog } from './ChannelDialog.tsx';
import { RuleDialog } from './RuleDialog.tsx';
import { notificationKeys, useChannels, useDeliveries, useIncidents, useRules } from './queries.ts';

const STATUS_CLASS = { delivered: 'badge ok', failed: 'badge bad', pending: 'badge warn' } as const;

/** What a rule watches for, in words. */
function watches(r: NotificationRule): string {
  const parts = [
    r.onFailed !== false ? 'fails' : undefined,
    r.onRetryingMinutes !== undefined ? `retries for ${r.onRetryingMinutes} min` : undefined,
    r.onLagMinutes !== undefined ? `lags for ${r.onLagMinutes} min` : undefined,
    r.onAgentsBelow !== undefined ? `fewer than ${r.onAgentsBelow} agents` : undefined,
  ].filter(Boolean);
  return parts.join(' · ');
}

/** Channels with Test, Edit and Delete (admins). */
function ChannelsSection() {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const channels = useChannels(true);
  const [editing, setEditing] = useState<NotificationChannel | 'new'>();
  const [deleting, setDeleting] = useState<NotificationChannel>();
  const test = useMutation({
    mutationFn: (id: string) => client.notifications.testChannel(id),
    onSuccess: (r, id) => {
      notify(
        r.ok ? 'ok' : 'error',
        r.ok ? `Test message delivered through ${id} (HTTP ${r.httpStatus}).` : `Test message through ${id} not delivered: ${r.error}`,
      );
      void queryClient.invalidateQueries({ queryKey: notificationKeys.deliveries });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => client.notifications.deleteChannel(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: notificationKeys.channels });
      setDeleting(undefined);
    },
  });
  return (
    <Section
      title="Channels"
      actions={
        <button type="button" className="primary" onClick={() => setEditing('new')}>
          New channel
        </button>
      }
    >
      {channels.isPending ? (
        <Loading what="channels" />
      ) : channels.isError ? (
        <ErrorState error={channels.error} what="the channels" onRetry={() => void channels.refetch()} />
      ) : channels.data.length === 0 ? (
        <EmptyState title="No channel">
          <p>A channel is where Idra sends its messages: a webhook of yours (signed JSON) or a Slack-compatible incoming webhook.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Kind</th>
                <th scope="col">URL</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {channels.data.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    {c.name ?? c.id}
                    <div className="muted small mono">{c.id}</div>
                  </th>
                  <td>
                    {c.kind}
                    {c.secret !== undefined && <span className="muted small"> · signed</span>}
                    {c.enabled === false && <span className="badge warn">disabled</span>}
                  </td>
                  <td className="mono small">{c.url}</td>
                  <td>
                    <button type="button" onClick={() => test.mutate(c.id)} disabled={test.isPending} aria-label={`Send a test message through ${c.id}`}>
                      {test.isPending && test.variables === c.id ? 'Sending…' : 'Test'}
                    </button>{' '}
                    <button type="button" onClick={() => setEditing(c)} aria-label={`Edit ${c.id}`}>
                      Edit
                    </button>{' '}
                    <button type="button" className="danger-text" onClick={() => setDeleting(c)} aria-label={`Delete ${c.id}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && <ChannelDialog channel={editing === 'new' ? undefined : editing} onClose={() => setEditing(undefined)} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete channel ${deleting.id}?`}
          confirmLabel="Delete"
          danger
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate(deleting.id)}
          onClose={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p>Messages still waiting for it are given up. A channel that a rule uses cannot be deleted.</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}

/** Rules (admins). */
function RulesSection() {
  const client = useClient();
  const queryClient = useQueryClient();
  const rules = useRules(true);
  const channels = useChannels(true);
  const [editing, setEditing] = useState<NotificationRule | 'new'>();
  const remove = useMutation({
    mutationFn: (id: string) => client.notifications.deleteRule(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: notificationKeys.rules }),
  });
  return (
    <Section
      title="Rules"
      actions={
        <button
          type="button"
          className="primary"
          onClick={() => setEditing('new')}
          disabled={!channels.data?.length}
          title={channels.data?.length ? undefined : 'Create a channel first'}
        >
          New rule
        </button>
      }
    >
      {rules.isPending ? (
        <Loading what="rules" />
      ) : rules.isError ? (
        <ErrorState error={rules.error} what="the rules" onRetry={() => void rules.refetch()} />
      ) : rules.data.length === 0 ? (
        <EmptyState title="No rule">
          <p>
            A rule says when to send: a sync that fails, keeps retrying or lags for some minutes, or too few agents. One message per incident, one when it is
            over.
          </p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">When a sync…</th>
                <th scope="col">Syncs</th>
                <th scope="col">Channels</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id}>
                  <th scope="row">{r.id}</th>
                  <td>{watches(r)}</td>
                  <td>{r.syncs?.length ? r.syncs.join(', ') : 'all'}</td>
                  <td>{r.channels.join(', ')}</td>
                  <td>
                    <button type="button" onClick={() => setEditing(r)} aria-label={`Edit ${r.id}`}>
                      Edit
                    </button>{' '}
                    <button type="button" className="danger-text" onClick={() => remove.mutate(r.id)} aria-label={`Delete ${r.id}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && <RuleDialog rule={editing === 'new' ? undefined : editing} channels={channels.data ?? []} onClose={() => setEditing(undefined)} />}
    </Section>
  );
}

function IncidentsSection() {
  const incidents = useIncidents();
  return (
    <Section title="Incidents">
      {incidents.isPending ? (
        <Loading what="incidents" />
      ) : incidents.isError ? (
        <ErrorState error={incidents.error} what="the incidents" onRetry={() => void incidents.refetch()} />
      ) : incidents.data.length === 0 ? (
        <EmptyState title="No incident">
          <p>Nothing any rule watches for is happening.</p>
        </EmptyState>
      ) : (
        <ul className="error-list">
          {incidents.data.map((i) => (
            <li key={i.id}>
              <span className={i.state === 'open' ? 'badge bad' : 'badge warn'}>{i.state === 'open' ? 'open' : 'pending'}</span>{' '}
              <strong>{i.syncId ?? 'agents'}</strong> {i.reason}{' '}
              <span className="muted small">
                since {formatAgo(i.since)} · rule {i.ruleId}
                {i.state === 'pending' ? ' · not told yet: waiting for the rule’s minutes' : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function DeliveriesSection() {
  const deliveries = useDeliveries();
  return (
    <Section title="Delivery log">
      {deliveries.isPending ? (
        <Loading what="deliveries" />
      ) : deliveries.isError ? (
        <ErrorState error={deliveries.error} what="the delivery log" onRetry={() => void deliveries.refetch()} />
      ) : deliveries.data.length === 0 ? (
        <EmptyState title="Nothing sent yet" />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Channel</th>
                <th scope="col">Message</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.map((d) => (
                <tr key={d.id}>
                  <td title={formatDateTime(d.updatedAt)}>{formatAgo(d.updatedAt)}</td>
                  <td>{d.channelId}</td>
                  <td>
                    <span className="muted small">{d.eventType}</span> {d.text}
                  </td>
                  <td>
                    <span className={STATUS_CLASS[d.status]}>{d.status}</span>
                    <div className="muted small">
                      {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
                      {d.httpStatus ? ` · HTTP ${d.httpStatus}` : ''}
                      {d.error && d.status !== 'delivered' ? ` · ${d.error}` : ''}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** Notifications the leader sends: open incidents and the delivery log for everyone; channels and rules for admins. */
export function NotificationsScreen() {
  const isAdmin = useCan('admin');
  return (
    <Page title="Notifications" subtitle="Messages Idra sends itself when a sync fails, keeps retrying or lags, or agents are missing.">
      <IncidentsSection />
      {isAdmin && <ChannelsSection />}
      {isAdmin && <RulesSection />}
      <DeliveriesSection />
    </Page>
  );
}
