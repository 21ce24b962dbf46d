import { useState } from 'react';
import type { ConnectorKind } from '@idra/core/model';
import type { ConnectionDraft } from '../lib/sync-draft.ts';
import { Field } from './Field.tsx';

/** What the API shows in place of a stored secret; sent back unchanged, it keeps the secret. */
export const SECRET_MASK = '********';

const URL_EXAMPLES: Partial<Record<ConnectorKind, string>> = {
  postgres: 'postgres://user:password@host:5432/database',
  mysql: 'mysql://user:password@host:3306/database',
  mssql: 'mssql://user:password@host:1433/database',
  mongodb: 'mongodb://user:password@host:27017/database',
  kafka: 'kafka://broker1:9092,broker2:9092',
  s3: 'http://minio:9000',
  http: 'https://api.example.com',
};

/**
 * The fields of a connection for a connector: a file for SQLite, else a URL or host, port,
 * database, user, password. Secrets come back masked from the API and are shown only as the mask.
 */
export function ConnectionFields({
  connector,
  value,
  onChange,
  issue,
}: {
  connector: ConnectorKind;
  value: ConnectionDraft;
  onChange: (v: ConnectionDraft) => void;
  issue: (field: string) => string | undefined;
}) {
  const [style, setStyle] = useState<'url' | 'fields'>(value.url || !value.host ? 'url' : 'fields');
  const set = (patch: Partial<ConnectionDraft>) => onChange({ ...value, ...patch });
  if (connector === 'sqlite') {
    return (
      <Field label="Database file" hint="Path on the agents' machines, e.g. /var/lib/idra/data.db" error={issue('file')}>
        {(p) => <input {...p} value={value.file} onChange={(e) => set({ file: e.target.value })} spellCheck={false} />}
      </Field>
    );
  }
  const passwordStored = value.password === SECRET_MASK;
  return (
    <div className="connection-fields">
      <div className="segmented" role="radiogroup" aria-label="Connection given as">
        <label>
          <input type="radio" checked={style === 'url'} onChange={() => setStyle('url')} /> URL
        </label>
        <label>
          <input type="radio" checked={style === 'fields'} onChange={() => setStyle('fields')} /> Host and credentials
        </label>
      </div>
      {style === 'url' ? (
        <Field
          label="URL"
          hint={
            <>
              For example <code>{URL_EXAMPLES[connector] ?? 'scheme://host:port'}</code>. A stored password shows as {SECRET_MASK}; to change where the URL
              points, type the password again.
            </>
          }
          error={issue('url')}
        >
          {(p) => <input {...p} value={value.url} onChange={(e) => set({ url: e.target.value })} spellCheck={false} autoComplete="off" />}
        </Field>
      ) : (
        <div className="grid-2">
          <Field label="Host" error={issue('host')}>
            {(p) => <input {...p} value={value.host} onChange={(e) => set({ host: e.target.value })} spellCheck={false} />}
          </Field>
          <Field label="Port" error={issue('port')}>
            {(p) => <input {...p} value={value.port} inputMode="numeric" onChange={(e) => set({ port: e.target.value })} />}
          </Field>
          <Field label="Database" error={issue('database')}>
            {(p) => <input {...p} value={value.database} onChange={(e) => set({ database: e.target.value })} spellCheck={false} />}
          </Field>
          <Field label="User" error={issue('user')}>
            {(p) => <input {...p} value={value.user} onChange={(e) => set({ user: e.target.value })} autoComplete="off" spellCheck={false} />}
          </Field>
          <Field
            label="Password"
            hint={
              passwordStored
                ? 'A password is stored: leave the mask to keep it (same host, port, database and user), or type it again to change those.'
                : undefined
            }
            error={issue('password')}
          >
            {(p) => <input {...p} type="password" value={value.password} onChange={(e) => set({ password: e.target.value })} autoComplete="new-password" />}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={value.ssl} onChange={(e) => set({ ssl: e.target.checked })} /> Use TLS (ssl)
          </label>
        </div>
      )}
    </div>
  );
}
