import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { NotificationChannel } from '@idra/api-client';
import { useClient } from '../../api/client-context.tsx';
import { issuesOf } from '../../api/errors.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { Field } from '../../components/Field.tsx';
import { BusyButton, ErrorNote } from '../../components/Status.tsx';
import { notificationKeys } from './queries.ts';

/** Creates a channel, or edits one: its URL and secret come masked, and a mask left as it is keeps the stored value. */
export function ChannelDialog({ channel, onClose }: { channel?: NotificationChannel | undefined; onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [id, setId] = useState(channel?.id ?? '');
  const [name, setName] = useState(channel?.name ?? '');
  const [kind, setKind] = useState<NotificationChannel['kind']>(channel?.kind ?? 'webhook');
  const [url, setUrl] = useState(channel?.url ?? '');
  const [secret, setSecret] = useState(channel?.secret ?? '');
  const [enabled, setEnabled] = useState(channel?.enabled !== false);
  const save = useMutation({
    mutationFn: () => {
      const body: NotificationChannel = {
        id: id.trim(),
        kind,
        url: url.trim(),
        enabled,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(kind === 'webhook' && secret ? { secret } : {}),
      };
      return channel ? client.notifications.putChannel(body) : client.notifications.createChannel(body);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: notificationKeys.channels });
      onClose();
    },
  });
  const issue = (path: string) => issuesOf(save.error).find((i) => i.path === path)?.message;
  return (
    <Dialog
      title={channel ? `Channel ${channel.id}` : 'New notification channel'}
      onClose={onClose}
      busy={save.isPending}
      onSubmit={() => save.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={save.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={save.isPending} busyLabel="Saving…" disabled={!id.trim() || !url.trim()}>
            Save
          </BusyButton>
        </>
      }
    >
      <Field label="Id" hint="Letters, digits, _ . -; rules name the channel by it." error={issue('id')}>
        {(p) => <input {...p} value={id} disabled={channel !== undefined} onChange={(e) => setId(e.target.value)} autoComplete="off" />}
      </Field>
      <Field label="Name" error={issue('name')}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
      </Field>
      <Field label="Kind" error={issue('kind')}>
        {(p) => (
          <select {...p} value={kind} onChange={(e) => setKind(e.target.value as NotificationChannel['kind'])}>
            <option value="webhook">Webhook (JSON, signed)</option>
            <option value="slack">Slack-compatible incoming webhook</option>
          </select>
        )}
      </Field>
      <Field
        label="URL"
        hint={channel ? 'Shown masked: leave it to keep the stored URL.' : 'Stored encrypted, never shown again in full.'}
        error={issue('url')}
      >
        {(p) => <input {...p} type="url" className="mono" value={url} onChange={(e) => setUrl(e.target.value)} autoComplete="off" />}
      </Field>
      {kind === 'webhook' && (
        <Field
          label="Signing secret"
          hint="Optional, at least 16 characters: each message carries X-Idra-Signature, an HMAC-SHA256 of its timestamp and body."
          error={issue('secret')}
        >
          {(p) => <input {...p} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="new-password" />}
        </Field>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <ErrorNote error={save.error} />
    </Dialog>
  );
}
