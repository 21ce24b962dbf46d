import { useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { IdraApiError, type ChangeOptions, type DataSource, type OffsetScopeConflict } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useConnectors, useDataSources, useSyncConfig } from '../api/queries.ts';
import { useCan } from '../api/session.tsx';
import { issuesOf } from '../api/errors.ts';
import { Page, Section } from '../components/Page.tsx';
import { ErrorState, Loading } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { plainIssues } from '../lib/plain-issues.ts';
import { configToDraft, draftToConfig, emptyDraft, fieldsOf, type Catalogue, type SyncDraft } from '../lib/sync-draft.ts';
import { OffsetScopeDialog } from './OffsetScopeDialog.tsx';
import { EditorFooter } from './sync-editor/EditorFooter.tsx';
import { EndpointFields } from './sync-editor/EndpointFields.tsx';
import { CheckRefusal, listedObject, useEndpointCheck, useSourceCheck, useTables, useValidation } from './sync-editor/hooks.ts';
import { PlacedField, PlacementContext, useIssuePlacement } from './sync-editor/issues.tsx';
import { ModeFields } from './sync-editor/ModeFields.tsx';
import { WritingFields } from './sync-editor/WritingFields.tsx';
import { FaithfulCopyFields } from './sync-editor/FaithfulCopyFields.tsx';

/** Create or edit a sync, checked by the API's validate endpoint as the user types. */
export function SyncEditorScreen() {
  const { id: editId } = useParams();
  const editing = editId !== undefined;
  const existing = useSyncConfig(editId ?? '', editing);
  const dataSources = useDataSources();
  const connectors = useConnectors();
  if (editing && existing.isPending) return <Loading what={`sync ${editId}`} />;
  if (editing && existing.isError) return <ErrorState error={existing.error} what={`sync ${editId}`} onRetry={() => void existing.refetch()} />;
  if (connectors.isPending) return <Loading what="the connectors" />;
  if (connectors.isError) return <ErrorState error={connectors.error} what="the connectors" onRetry={() => void connectors.refetch()} />;
  return (
    <SyncEditor
      key={editId ?? 'new'}
      initial={editing && existing.data ? configToDraft(existing.data) : emptyDraft()}
      editing={editing}
      dataSources={dataSources.data ?? []}
      catalogue={connectors.data}
    />
  );
}

function SyncEditor({ initial, editing, dataSources, catalogue }: { initial: SyncDraft; editing: boolean; dataSources: DataSource[]; catalogue: Catalogue }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const notify = useNotify();
  const canOperate = useCan('operator');
  const [draft, setDraft] = useState<SyncDraft>(initial);
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set(editing ? ['*'] : []));
  const [checkpoint, setCheckpoint] = useState(0);
  const validation = useValidation(draft, checkpoint, catalogue);
  const sourceCheck = useSourceCheck(draft, validation.data?.ok === true, catalogue);
  const sourceTables = useTables(draft.source);
  const destinationTables = useTables(draft.destination);
  const check = useEndpointCheck(catalogue);
  const checkResult = check.data?.draft === JSON.stringify(draft) ? check.data : undefined;
  const [acknowledged, setAcknowledged] = useState(false);
  const sourceColumns = listedObject(sourceTables, draft.source, fieldsOf(catalogue, draft.source.connector, 'source'))?.columns ?? [];
  // Set when saving would move what the stored offset points into: the choice is asked, then the save is sent again with it.
  const [scopeConflict, setScopeConflict] = useState<OffsetScopeConflict>();
  const save = useMutation({
    mutationFn: async ({ paused, ...opts }: ChangeOptions & { paused?: boolean } = {}) => {
      const config = draftToConfig(paused ? { ...draft, enabled: false } : draft, catalogue);
      // The fields first (every problem at once), then connections and tables: what is wrong there must be acknowledged.
      await client.syncs.validate(config);
      const result = checkResult ?? (await check.mutateAsync({ draft, sourceTables, destinationTables }));
      if (result.problems.length > 0 && !acknowledged) throw new CheckRefusal(result.problems.length);
      return editing ? client.syncs.put(config, opts) : client.syncs.create(config, opts);
    },
    onSuccess: (s) => {
      void queryClient.invalidateQueries({ queryKey: keys.overview });
      queryClient.setQueryData(keys.sync(s.id), s);
      notify('ok', editing ? `Sync ${s.id} saved.` : `Sync ${s.id} created.`);
      void navigate(`/syncs/${encodeURIComponent(s.id)}`);
    },
    onError: (err) => {
      setTouched(new Set(['*']));
      if (err instanceof IdraApiError && err.code === 'IDRA_ERR_OFFSET_SCOPE_CHANGED') setScopeConflict(err.details as unknown as OffsetScopeConflict);
    },
  });
  // Once the problems are shown, the keyboard and screen reader start at the first one.
  useEffect(() => {
    if (save.error && issuesOf(save.error).length > 0) document.querySelector<HTMLElement>('.sync-form [aria-invalid="true"]')?.focus();
  }, [save.error]);

  const issues = useMemo(() => {
    if (save.error) return plainIssues(issuesOf(save.error));
    return validation.data && !validation.data.ok ? validation.data.issues : [];
  }, [validation.data, save.error]);
  const shown = (path: string) => touched.has('*') || [...touched].some((t) => path === t || path.startsWith(`${t}.`));
  const { placement, unplaced } = useIssuePlacement(issues, shown);

  // Marks what the user edited, so that a new form is not covered in "is required" at once.
  const change = (patch: Partial<SyncDraft>, ...paths: string[]) => {
    setDraft((d) => ({ ...d, ...patch }));
    setAcknowledged(false);
    setTouched((t) => new Set([...t, ...(paths.length ? paths : Object.keys(patch))]));
    if (save.error) save.reset();
  };
  const d = draft;
  const title = editing ? `Edit sync ${initial.id}` : 'New sync';

  if (!canOperate) {
    return (
      <Page title={title}>
        <p>Your role can read syncs but not change them.</p>
      </Page>
    );
  }
  return (
    <Page title={title} subtitle="Checked by the API when you leave a field; connections and tables are tested before it is saved.">
      <PlacementContext value={placement}>
        <form
          className="sync-form"
          noValidate
          onBlur={() => setCheckpoint((n) => n + 1)}
          onChange={(e) => {
            const t = e.target as unknown as HTMLInputElement;
            if (t.tagName === 'SELECT' || t.type === 'checkbox' || t.type === 'radio') setCheckpoint((n) => n + 1);
          }}
          onSubmit={(e) => {
            e.preventDefault();
            setTouched(new Set(['*']));
            const paused = (e.nativeEvent as SubmitEvent).submitter?.getAttribute('data-paused') === 'true';
            save.mutate({ paused });
          }}
        >
          <Section title="Sync">
            <div className="grid-2">
              <PlacedField path="id" label="Id" hint="Letters, digits, _ . - ; names the offset, cannot change later.">
                {(p) => (
                  <input
                    {...p}
                    value={d.id}
                    onChange={(e) => change({ id: e.target.value })}
                    readOnly={editing}
                    required
                    spellCheck={false}
                    autoComplete="off"
                  />
                )}
              </PlacedField>
              <PlacedField path="name" label="Name" hint="Optional, shown in lists.">
                {(p) => <input {...p} value={d.name} onChange={(e) => change({ name: e.target.value })} />}
              </PlacedField>
            </div>
            <label className="checkbox">
              <input type="checkbox" checked={d.enabled} onChange={(e) => change({ enabled: e.target.checked })} /> Enabled (an agent runs it as soon as it is
              saved)
            </label>
          </Section>
          <Section title="Source and destination">
            {(['source', 'destination'] as const).map((role) => (
              <EndpointFields
                key={role}
                role={role}
                value={d[role]}
                onChange={(value) => change({ [role]: value }, role)}
                catalogue={catalogue}
                dataSources={dataSources}
                tables={role === 'source' ? sourceTables : destinationTables}
              />
            ))}
          </Section>
          <Section title="How rows are followed">
            <ModeFields draft={d} change={change} sourceColumns={sourceColumns} />
          </Section>
          <Section title="Writing and pacing">
            <WritingFields draft={d} change={change} sourceCheck={sourceCheck} />
          </Section>
          <Section title="Schema changes and deletes">
            <FaithfulCopyFields draft={d} change={change} />
          </Section>
          <EditorFooter
            editing={editing}
            syncId={initial.id}
            validation={{
              isFetching: validation.isFetching,
              isError: validation.isError,
              error: validation.error,
              normalized: validation.data?.ok ? validation.data.normalized : undefined,
            }}
            issues={issues}
            unplaced={unplaced}
            showAll={touched.has('*')}
            anyTouched={touched.size > 0}
            saveError={save.error}
            saving={save.isPending ? (save.variables?.paused === true ? 'paused' : 'started') : false}
            check={{ result: checkResult, pending: check.isPending, run: () => check.mutate({ draft, sourceTables, destinationTables }) }}
            acknowledged={acknowledged}
            onAcknowledge={setAcknowledged}
          />
        </form>
      </PlacementContext>
      {scopeConflict && (
        <OffsetScopeDialog
          syncId={draft.id}
          conflict={scopeConflict}
          enabled={initial.enabled}
          onClose={() => setScopeConflict(undefined)}
          onDecide={(opts) => {
            setScopeConflict(undefined);
            save.mutate(opts);
          }}
        />
      )}
    </Page>
  );
}
