import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ROLES, type ApiTokenView, type CreatedApiToken, type Role } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useTokens } from '../api/queries.ts';
import { useUser } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Page } from '../components/Page.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, EmptyState, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { formatAgo, formatDateTime } from '../lib/format.ts';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Creates a token, then shows it once: the API keeps only its hash. */
function CreateTokenDialog({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const me = useUser();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>(me.role === 'admin' ? 'operator' : me.role);
  const [days, setDays] = useState('90');
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: () => client.tokens.create({ name: name.trim(), role, ...(days.trim() ? { expiresInDays: Number(days) } : {}) }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.tokens }),
  });
  const created: CreatedApiToken | undefined = create.data;
  const issue = (path: string) => issuesOf(create.error).find((i) => i.path === path)?.message;
  if (created) {
    return (
      <Dialog
        title={`Token ${created.name} created`}
        onClose={onClose}
        actions={
          <button type="button" className="primary" onClick={onClose} data-autofocus>
            I have stored it
          </button>
        }
      >
        <p className="warning-note">Copy it now: it is shown only this once and cannot be read again.</p>
        <Field label="API token">{(p) => <input {...p} readOnly className="mono" value={created.token} onFocus={(e) => e.target.select()} />}</Field>
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(created.token).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy to clipboard'}
        </button>
        <p className="hint">
          Use it as <code>Authorization: Bearer &lt;token&gt;</code>.
        </p>
      </Dialog>
    );
  }
  return (
    <Dialog
      title="New API token"
      onClose={onClose}
      busy={create.isPending}
      onSubmit={() => create.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={create.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={create.isPending} busyLabel="Creating…" disabled={!name.trim()}>
            Create
          </BusyButton>
        </>
      }
    >
      <Field label="Name" hint="What uses it, e.g. ci-deploy." error={issue('name')}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
      </Field>
      <Field label="Role" hint="At most your own." error={issue('role')}>
        {(p) => (
          <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.filter((r) => RANK[r] <= RANK[me.role]).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Expires after (days)" hint="Empty: never." error={issue('expiresInDays')}>
        {(p) => <input {...p} inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />}
      </Field>
      <ErrorNote error={create.error} />
    </Dialog>
  );
}

/** Long-lived tokens for scripts and CI: created (shown once) and revoked here. */
export function TokensScreen() {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const me = useUser();
  const tokens = useTokens();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiTokenView>();
  const revoke = useMutation({
    mutationFn: (id: string) => client.tokens.revoke(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.tokens });
      notify('ok', `Token ${revoking?.name ?? ''} revoked.`);
      setRevoking(undefined);
    },
  });
  return (
    <Page
      title="API tokens"
      subtitle={me.role === 'admin' ? 'Every user’s tokens.' : 'Your tokens.'}
      actions={
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New token
        </button>
      }
    >
      {tokens.isPending ? (
        <Loading what="tokens" />
      ) : tokens.isError ? (
        <ErrorState error={tokens.error} what="the API tokens" onRetry={() => void tokens.refetch()} />
      ) : tokens.data.length === 0 ? (
        <EmptyState title="No API token">
          <p>Tokens let scripts and CI jobs call the API without a password.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Owner</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    {t.name}
                    <div className="muted small mono">{t.id}</div>
                  </th>
                  <td>{t.role}</td>
                  <td>{t.owner}</td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>{t.lastUsedAt ? formatAgo(t.lastUsedAt) : 'never'}</td>
                  <td>{t.expiresAt ? formatDateTime(t.expiresAt) : 'never'}</td>
                  <td>
                    <button type="button" className="danger-text" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && <CreateTokenDialog onClose={() => setCreating(false)} />}
      {revoking && (
        <ConfirmDialog
          title={`Revoke token ${revoking.name}?`}
          confirmLabel="Revoke"
          danger
          busy={revoke.isPending}
          error={revoke.error}
          onConfirm={() => revoke.mutate(revoking.id)}
          onClose={() => {
            revoke.reset();
            setRevoking(undefined);
          }}
        >
          <p>Whatever uses it is refused from now on.</p>
        </ConfirmDialog>
      )}
    </Page>
  );
}
