import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { NotificationChannel, NotificationRule } from '@idra/api-client';
import { useClient } from '../../api/client-context.tsx';
import { issuesOf } from '../../api/errors.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { Field } from '../../components/Field.tsx';
import { BusyButton, ErrorNote } from '../../components/Status.tsx';
import { notificationKeys } from './queries.ts';

/** Minutes as typed: empty is "never". */
const minutes = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** Creates or edits a rule: what to watch for, on which syncs, through which channels. */
export function RuleDialog({ rule, channels, onClose }: { rule?: NotificationRule | undefined; channels: NotificationChannel[]; onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [id, setId] = useState(rule?.id ?? '');
  const [picked, setPicked] = useState<string[]>(rule?.channels ?? []);
  const [syncs, setSyncs] = useState((rule?.syncs ?? []).join(', '));
  const [onFailed, setOnFailed] = useState(rule?.onFailed !== false);
  const [retrying, setRetrying] = useState(rule?.onRetryingMinutes?.toString() ?? '10');
  const [lag, setLag] = useState(rule?.onLagMinutes?.toString() ?? '');
  const [agents, setAgents] = useState(rule?.onAgentsBelow?.toString() ?? '');
  const save = useMutation({
    mutationFn: () => {
      const list = syncs
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const body: NotificationRule = {
        id: id.trim(),
        channels: picked,
        onFailed,
        ...(list.length > 0 ? { syncs: list } : {}),
        ...(minutes(retrying) !== undefined ? { onRetryingMinutes: minutes(retrying) } : {}),
        ...(minutes(lag) !== undefined ? { onLagMinutes: minutes(lag) } : {}),
        ...(minutes(agents) !== undefined ? { onAgentsBelow: minutes(agents) } : {}),
        ...(rule?.enabled === false ? { enabled: false } : {}),
      };
      return rule ? client.notifications.putRule(body) : client.notifications.createRule(body);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: notificationKeys.rules });
      onClose();
    },
  });
  const issue = (path: string) => issuesOf(save.error).find((i) => i.path === path || i.path.startsWith(`${path}[`))?.message;
  const toggle = (channelId: string) => setPicked((p) => (p.includes(channelId) ? p.filter((c) => c !== channelId) : [...p, channelId]));
  return (
    <Dialog
      title={rule ? `Rule ${rule.id}` : 'New notification rule'}
      onClose={onClose}
      busy={save.isPending}
      onSubmit={() => save.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={save.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={save.isPending} busyLabel="Saving…" disabled={!id.trim() || picked.length === 0}>
            Save
          </BusyButton>
        </>
      }
    >
      <Field label="Id" error={issue('id')}>
        {(p) => <input {...p} value={id} disabled={rule !== undefined} onChange={(e) => setId(e.target.value)} autoComplete="off" />}
      </Field>
      <fieldset>
        <legend>Channels</legend>
        {channels.map((c) => (
          <label key={c.id} className="checkbox">
            <input type="checkbox" checked={picked.includes(c.id)} onChange={() => toggle(c.id)} /> {c.name ?? c.id}{' '}
            <span className="muted small">({c.kind})</span>
          </label>
        ))}
        {issue('channels') && <p className="error-text">{issue('channels')}</p>}
      </fieldset>
      <Field label="Syncs" hint="Sync ids, comma-separated; empty: every sync." error={issue('syncs')}>
        {(p) => <input {...p} value={syncs} onChange={(e) => setSyncs(e.target.value)} autoComplete="off" />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={onFailed} onChange={(e) => setOnFailed(e.target.checked)} /> When a sync fails
      </label>
      <Field label="When a sync keeps retrying for (minutes)" hint="Empty: never." error={issue('onRetryingMinutes')}>
        {(p) => <input {...p} inputMode="numeric" value={retrying} onChange={(e) => setRetrying(e.target.value)} />}
      </Field>
      <Field label="When a sync lags behind its threshold for (minutes)" hint="Empty: never." error={issue('onLagMinutes')}>
        {(p) => <input {...p} inputMode="numeric" value={lag} onChange={(e) => setLag(e.target.value)} />}
      </Field>
      <Field label="When fewer agents than" hint="Empty: never." error={issue('onAgentsBelow')}>
        {(p) => <input {...p} inputMode="numeric" value={agents} onChange={(e) => setAgents(e.target.value)} />}
      </Field>
      <ErrorNote error={save.error} />
    </Dialog>
  );
}
