import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useSession } from '../api/session.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { DefaultPasswordHint } from '../components/DefaultPasswordHint.tsx';

/** The login form; `notice` says why the user is here (session ended, logged out). */
export function LoginScreen({ notice }: { notice: string | undefined }) {
  const { login } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const attempt = useMutation({ mutationFn: () => login(username, password) });
  return (
    <main className="center-page">
      <form
        className="card login-card"
        aria-labelledby="login-title"
        onSubmit={(e) => {
          e.preventDefault();
          attempt.mutate();
        }}
      >
        <h1 id="login-title">Log in to Idra</h1>
        {notice && (
          <p className="notice-inline" role="status">
            {notice}
          </p>
        )}
        <Field label="User name">
          {(p) => <input {...p} name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />}
        </Field>
        <Field label="Password">
          {(p) => (
            <input
              {...p}
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          )}
        </Field>
        <ErrorNote error={attempt.error} />
        <BusyButton type="submit" className="primary wide" busy={attempt.isPending} busyLabel="Logging in…" disabled={!username || !password}>
          Log in
        </BusyButton>
        <DefaultPasswordHint />
      </form>
    </main>
  );
}
