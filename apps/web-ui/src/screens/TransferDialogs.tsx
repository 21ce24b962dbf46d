import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { GoSyncReport, ImportResult } from '@idra/api-client';
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
    `${what}: ${c.created.length} ${r.dryRun ? 'to create' : 'created'}${c.created.length ? ` (${c.created.join(', ')})` : ''}, ${c.updated.length} ${r.dryRun ? 'to update' : 'updated'}${c.updated.length ? ` (${c.updated.join(', ')})` : ''}`;
  return [
    part('Syncs', r.syncs),
    r.format === 'idra' ? part('Data sources', r.dataSources) : '',
    r.offsetsSeeded.length ? `Offsets ${r.dryRun ? 'to seed' : 'seeded'}: ${r.offsetsSeeded.join(', ')}` : '',
    r.refused?.length ? `Refused: ${r.refused.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('. ');
}

const OUTCOME_CLASS: Record<string, string> = {
  mapped: 'badge ok',
  converted: 'badge',
  ignored: 'badge state-paused',
  refused: 'badge bad',
  importable: 'badge ok',
};

/** What became of every Go Idra sync and field: mapped, converted (how), ignored (why), refused (why). */
export function GoImportReport({ report }: { report: GoSyncReport[] }) {
  return (
    <div className="import-report" role="region" aria-label="Import report">
      {report.map((r) => (
        <section key={r.index} aria-label={`Go sync ${r.goId || r.index}`} className="import-report-sync">
          <h3>
            {r.name || r.goId || `[${r.index}]`} <span className="muted small">→ {r.id ?? 'no id'}</span>{' '}
            <span className={OUTCOME_CLASS[r.outcome]}>{r.outcome}</span>
          </h3>
          <table className="report-table">
            <thead>
              <tr>
                <th scope="col">Outcome</th>
                <th scope="col">Go field</th>
                <th scope="col">What happens</th>
              </tr>
            </thead>
            <tbody>
              {r.fields.map((f, i) => (
                <tr key={i} data-outcome={f.outcome}>
                  <td>
                    <span className={OUTCOME_CLASS[f.outcome]}>{f.outcome}</span>
                  </td>
                  <td>
                    <code>{f.field}</code>
                  </td>
                  <td>{f.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}

/**
 * Imports an Idra export, an array of syncs, or an original Go Idra export (pasted or from a file):
 * checked first (a dry run that writes nothing, with the Go report), then imported.
 */
export function ImportDialog({ onClose }: { onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [skipRefused, setSkipRefused] = useState(false);
  const [parseError, setParseError] = useState<string>();
  const options = { overwrite, skipRefused };
  // Stays set once a check saw a Go Idra export, so its option does not vanish while the document is edited.
  const [sawGo, setSawGo] = useState(false);
  const check = useMutation({
    mutationFn: () => client.import(JSON.parse(text) as unknown, { ...options, dryRun: true }),
    onSuccess: (r) => setSawGo(r.format === 'go-idra'),
  });
  const run = useMutation({
    mutationFn: () => client.import(JSON.parse(text) as unknown, options),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
      void queryClient.invalidateQueries({ queryKey: ['datasources'] });
    },
  });
  // Any change asks for a new check before importing.
  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      check.reset();
      run.reset();
    };
  const submit = () => {
    try {
      JSON.parse(text);
    } catch (err) {
      return setParseError(`Not valid JSON: ${(err as Error).message}`);
    }
    setParseError(undefined);
    if (check.isSuccess) run.mutate();
    else check.mutate();
  };
  const checked = check.data;
  const issues = issuesOf(run.error ?? check.error);
  const busy = check.isPending || run.isPending;
  const blocked = Boolean(checked?.refused?.length) && !skipRefused;
  return (
    <Dialog
      title="Import syncs"
      wide
      onClose={onClose}
      busy={busy}
      onSubmit={submit}
      actions={
        run.isSuccess ? (
          <button type="button" className="primary" onClick={onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            {checked ? (
              <BusyButton
                type="submit"
                className="primary"
                busy={run.isPending}
                busyLabel="Importing…"
                disabled={blocked || checked.syncs.created.length + checked.syncs.updated.length === 0}
              >
                Import
              </BusyButton>
            ) : (
              <BusyButton type="submit" className="primary" busy={check.isPending} busyLabel="Checking…" disabled={!text.trim()}>
                Check (dry run)
              </BusyButton>
            )}
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
          <p>
            An Idra export (<code>{'{ dataSources, syncs }'}</code>), an array of syncs, or an export of the original Go Idra. It is checked first — nothing is
            written until you import — and a Go Idra export gets a report of what becomes of every sync and field. Passwords shown masked in an export are kept
            as stored.
          </p>
          <Field label="JSON file">
            {(p) => (
              <input
                {...p}
                type="file"
                accept="application/json,.json"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (file) void file.text().then(edit(setText));
                }}
              />
            )}
          </Field>
          <Field label="or paste it here" error={parseError}>
            {(p) => (
              <textarea {...p} rows={checked ? 4 : 12} className="mono" value={text} onChange={(e) => edit(setText)(e.target.value)} spellCheck={false} />
            )}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={overwrite} onChange={(e) => edit(setOverwrite)(e.target.checked)} /> Replace syncs and data sources that already
            exist
          </label>
          {sawGo && (
            <label className="checkbox">
              <input type="checkbox" checked={skipRefused} onChange={(e) => edit(setSkipRefused)(e.target.checked)} /> Leave out the syncs that cannot be
              imported faithfully
            </label>
          )}
          {checked && (
            <p role="status" className={blocked ? 'warning-note' : 'notice-inline'}>
              Checked ({checked.format === 'go-idra' ? 'Go Idra format' : 'Idra format'}), nothing written yet. {summary(checked)}.
              {blocked ? ' Some syncs are refused: fix them in the document, or leave them out.' : ''}
            </p>
          )}
          {checked?.report && <GoImportReport report={checked.report} />}
          <ErrorNote error={run.error ?? check.error} />
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
