import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ImportResult } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { issuesOf } from '../api/errors.ts';
import { Dialog } from '../components/Dialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';

/** Downloads every sync and data source as JSON (secrets masked by the API). */
export function useExport() {
  const client = useClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async () => {
      const doc = await client.export();
      const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `idra-export-${new Date().toISOString().slice(0, 10)}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return doc;
    },
    onSuccess: (doc) => notify('ok', `Exported ${doc.syncs.length} syncs and ${doc.dataSources.length} data sources (passwords masked).`),
    onError: (err) => notify('error', `Export failed: ${(err as Error).message}`),
  });
}

function summary(r: ImportResult): string {
  const part = (what: string, c: { created: string[]; updated: string[] }) =>
    `${what}: ${c.created.length} created${c.created.length ? ` (${c.created.join(', ')})` : ''}, ${c.updated.length} updated${c.updated.length ? ` (${c.updated.join(', ')})` : ''}`;
  return [part('Syncs', r.syncs), part('Data sources', r.dataSources), r.offsetsSeeded.length ? `Offsets seeded: ${r.offsetsSeeded.join(', ')}` : ''].filter(Boolean).join('. ');
}

/** Imports an Idra export, an array of syncs, or an original Go Idra export (pasted or from a file). */
export function ImportDialog({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [parseError, setParseError] = useState<string>();
  const run = useMutation({
    mutationFn: () => client.import(JSON.parse(text) as unknown, { overwrite }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
      void queryClient.invalidateQueries({ queryKey: ['datasources'] });
    },
  });
  const submit = () => {
    try {
      JSON.parse(text);
    } catch (err) {
      return setParseError(`Not valid JSON: ${(err as Error).message}`);
    }
    setParseError(undefined);
    run.mutate();
  };
  const issues = issuesOf(run.error);
  return (
    <Dialog
      title="Import syncs"
      wide
      onClose={onClose}
      busy={run.isPending}
      onSubmit={submit}
      actions={
        run.isSuccess ? (
          <button type="button" className="primary" onClick={onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" onClick={onClose} disabled={run.isPending}>
              Cancel
            </button>
            <BusyButton type="submit" className="primary" busy={run.isPending} busyLabel="Importing…" disabled={!text.trim()}>
              Import
            </BusyButton>
          </>
        )
      }
    >
      {run.isSuccess ? (
        <p role="status">
          Imported ({run.data.format === 'go-idra' ? 'Go Idra format' : 'Idra format'}). {summary(run.data)}.
        </p>
      ) : (
        <>
          <p>An Idra export (<code>{'{ dataSources, syncs }'}</code>), an array of syncs, or an export of the original Go Idra. Passwords shown masked in an export are kept as stored.</p>
          <Field label="JSON file">
            {(p) => (
              <input
                {...p}
                type="file"
                accept="application/json,.json"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (file) void file.text().then(setText);
                }}
              />
            )}
          </Field>
          <Field label="or paste it here" error={parseError}>
            {(p) => <textarea {...p} rows={12} className="mono" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} /> Replace syncs and data sources that already exist
          </label>
          <ErrorNote error={run.error} />
          {issues.length > 0 && (
            <ul className="issues">
              {issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  <code>{i.path}</code>: {i.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Dialog>
  );
}
