import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ROLES, type Role, type UserView } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useUsers } from '../api/queries.ts';
import { useCan, useUser } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Page } from '../components/Page.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, EmptyState, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { formatDateTime } from '../lib/format.ts';

const ROLE_HELP: Record<Role, string> = {
  viewer: 'reads everything, changes nothing',
  operator: 'also creates, edits, pauses syncs and data sources',
  admin: 'also manages users and changes offsets',
};

function RoleSelect({ value, onChange, id, ...rest }: { value: Role; onChange: (r: Role) => void; id: string }) {
  return (
    <select id={id} {...rest} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}: {ROLE_HELP[r]}
        </option>
      ))}
    </select>
  );
}

/** Creates a user, or edits one's role and password (an empty password leaves it as it is). */
function UserDialog({ user, onClose }: { user: UserView | undefined; onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const [name, setName] = useState(user?.name ?? '');
  const [role, setRole] = useState<Role>(user?.role ?? 'viewer');
  const [password, setPassword] = useState('');
  const [mustChange, setMustChange] = useState(user?.mustChangePassword ?? true);
  const [revokeTokens, setRevokeTokens] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      user
        ? client.users.update(user.name, { role, ...(password ? { password } : {}), mustChangePassword: mustChange, ...(revokeTokens ? { revokeTokens } : {}) })
        : client.users.create({ name: name.trim(), password, role, mustChangePassword: mustChange }),
    onSuccess: (u) => {
      void queryClient.invalidateQueries({ queryKey: keys.users });
      void queryClient.invalidateQueries({ queryKey: keys.tokens });
      notify('ok', revokeTokens ? `User ${u.name} saved; their API tokens are revoked.` : `User ${u.name} saved.`);
      onClose();
    },
  });
  const issue = (path: string) => issuesOf(save.error).find((i) => i.path === path)?.message;
  return (
    <Dialog
      title={user ? `Edit user ${user.name}` : 'New user'}
      onClose={onClose}
      busy={save.isPending}
      onSubmit={() => save.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={save.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save
          </BusyButton>
        </>
      }
    >
      <Field label="User name" hint="Letters, digits, _ . @ -" error={issue('name')}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} readOnly={user !== undefined} autoComplete="off" spellCheck={false} />}
      </Field>
      <Field label="Role" error={issue('role')}>
        {(p) => <RoleSelect {...p} value={role} onChange={setRole} />}
      </Field>
      <Field
        label={user ? 'New password' : 'Password'}
        hint={user ? 'Leave empty to keep the current one. At least 8 characters.' : 'At least 8 characters.'}
        error={issue('password')}
      >
        {(p) => <input {...p} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={mustChange} onChange={(e) => setMustChange(e.target.checked)} /> Must choose a new password at the next login
      </label>
      {user && (
        <label className="checkbox">
          <input type="checkbox" checked={revokeTokens} onChange={(e) => setRevokeTokens(e.target.checked)} /> Also revoke their API tokens (after a leak: the
          tokens stop working at once)
        </label>
      )}
      <ErrorNote error={save.error} />
    </Dialog>
  );
}

/** Accounts and their roles (admin only). */
export function UsersScreen() {
  const isAdmin = useCan('admin');
  const me = useUser();
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const users = useUsers();
  const [editing, setEditing] = useState<{ user: UserView | undefined }>();
  const [deleting, setDeleting] = useState<UserView>();
  const remove = useMutation({
    mutationFn: (name: string) => client.users.delete(name),
    onSuccess: (_r, name) => {
      void queryClient.invalidateQueries({ queryKey: keys.users });
      notify('ok', `User ${name} deleted; their API tokens are revoked.`);
      setDeleting(undefined);
    },
  });
  if (!isAdmin) {
    return (
      <Page title="Users">
        <p>Only admins manage users.</p>
      </Page>
    );
  }
  return (
    <Page
      title="Users"
      actions={
        <button type="button" className="primary" onClick={() => setEditing({ user: undefined })}>
          New user
        </button>
      }
    >
      {users.isPending ? (
        <Loading what="users" />
      ) : users.isError ? (
        <ErrorState error={users.error} what="the users" onRetry={() => void users.refetch()} />
      ) : users.data.length === 0 ? (
        <EmptyState title="No users" />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Password</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.name}>
                  <th scope="row">
                    {u.name}
                    {u.name === me.name && <span className="muted small"> (you)</span>}
                  </th>
                  <td>
                    <span className={`badge role-${u.role}`}>{u.role}</span>
                  </td>
                  <td>{u.mustChangePassword ? 'to be changed at next login' : 'set'}</td>
                  <td>{formatDateTime(u.createdAt)}</td>
                  <td className="row-actions">
                    <button type="button" onClick={() => setEditing({ user: u })} aria-label={`Edit ${u.name}`}>
                      Edit
                    </button>
                    <button type="button" className="danger-text" onClick={() => setDeleting(u)} disabled={u.name === me.name} aria-label={`Delete ${u.name}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && <UserDialog user={editing.user} onClose={() => setEditing(undefined)} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete user ${deleting.name}?`}
          confirmLabel="Delete"
          danger
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate(deleting.name)}
          onClose={() => {
            remove.reset();
            setDeleting(undefined);
          }}
        >
          <p>Their sessions end and their API tokens are revoked.</p>
        </ConfirmDialog>
      )}
    </Page>
  );
}
