import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useSession, useUser } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Field } from '../components/Field.tsx';
import { Page } from '../components/Page.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';

const MIN_LENGTH = 8;

/** Change one's own password; `forced` at the first login (nothing else is reachable until done). */
export function ChangePasswordScreen({ forced }: { forced: boolean }) {
  const { changePassword, logout } = useSession();
  const user = useUser();
  const notify = useNotify();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const change = useMutation({
    mutationFn: () => changePassword(current, next),
    onSuccess: () => {
      notify('ok', 'Password changed. Your other sessions have ended.');
      setCurrent('');
      setNext('');
      setAgain('');
    },
  });
  const issues = issuesOf(change.error);
  const issue = (path: string) => issues.find((i) => i.path === path)?.message;
  const tooShort = next.length > 0 && next.length < MIN_LENGTH ? `must be at least ${MIN_LENGTH} characters` : undefined;
  const mismatch = again.length > 0 && again !== next ? 'does not match the new password' : undefined;
  const form = (
    <form
      className={forced ? 'card login-card' : 'card narrow'}
      aria-labelledby="password-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!tooShort && !mismatch) change.mutate();
      }}
    >
      <h2 id="password-title">{forced ? `Choose a new password, ${user.name}` : 'Change your password'}</h2>
      {forced && (
        <p className="notice-inline" role="status">
          This account still has its initial password. Choose your own before going on.
        </p>
      )}
      <Field label="Current password" error={issue('currentPassword')}>
        {(p) => (
          <input
            {...p}
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            required
            autoFocus={forced}
          />
        )}
      </Field>
      <Field label="New password" hint={`At least ${MIN_LENGTH} characters.`} error={tooShort ?? issue('newPassword')}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
      </Field>
      <Field label="New password again" error={mismatch}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required />}
      </Field>
      {issues.length === 0 && <ErrorNote error={change.error} />}
      <div className="form-actions">
        {forced && (
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        )}
        <BusyButton
          type="submit"
          className="primary"
          busy={change.isPending}
          busyLabel="Saving…"
          disabled={!current || !next || next !== again || Boolean(tooShort)}
        >
          Change password
        </BusyButton>
      </div>
    </form>
  );
  return forced ? <main className="center-page">{form}</main> : <Page title="Your password">{form}</Page>;
}
