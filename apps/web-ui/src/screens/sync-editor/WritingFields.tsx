import { copiesInRanges, modeInfo, SYNC_DEFAULTS } from '@idra/core/model';
import type { SourceCheck } from '@idra/api-client';
import type { SyncDraft } from '../../lib/sync-draft.ts';
import { PlacedField } from './issues.tsx';
import { SourceCheckNote } from './SourceCheckNote.tsx';

interface WritingProps {
  draft: SyncDraft;
  change: (patch: Partial<SyncDraft>, ...paths: string[]) => void;
  sourceCheck: { data?: SourceCheck | undefined; isFetching: boolean };
}

/** Writing and pacing: write mode, batch size, poll interval, delay, error policy, table creation, the watermark consent. */
export function WritingFields({ draft: d, change, sourceCheck }: WritingProps) {
  const { cursor } = modeInfo(d.mode);
  return (
    <>
      <div className="grid-3">
        <PlacedField path="writeMode" label="Write mode" hint="insert keeps rows whose key exists; upsert overwrites them.">
          {(p) => (
            <select {...p} value={d.writeMode} onChange={(e) => change({ writeMode: e.target.value as SyncDraft['writeMode'] })}>
              <option value="insert">insert</option>
              <option value="upsert">upsert</option>
            </select>
          )}
        </PlacedField>
        <PlacedField path="batchSize" label="Batch size" hint={`Rows per read, transaction and offset commit, at most (default ${SYNC_DEFAULTS.batchSize}).`}>
          {(p) => (
            <input
              {...p}
              inputMode="numeric"
              placeholder={String(SYNC_DEFAULTS.batchSize)}
              value={d.batchSize}
              onChange={(e) => change({ batchSize: e.target.value })}
            />
          )}
        </PlacedField>
        <PlacedField
          path="batchBytes"
          label="Batch bytes"
          hint={`Bytes of row data per read at most, whatever the row width (default ${SYNC_DEFAULTS.batchBytes}, ${SYNC_DEFAULTS.batchBytes / 2 ** 20} MiB).`}
        >
          {(p) => (
            <input
              {...p}
              inputMode="numeric"
              placeholder={String(SYNC_DEFAULTS.batchBytes)}
              value={d.batchBytes}
              onChange={(e) => change({ batchBytes: e.target.value })}
            />
          )}
        </PlacedField>
        {copiesInRanges(d.mode) && (
          <PlacedField
            path="parallelism"
            label="Parallel copy"
            hint={`Key ranges of ${d.mode === 'full' ? 'each pass' : 'the first pass'} copied side by side, each on connections of its own (default ${SYNC_DEFAULTS.parallelism}). SQL sources; a SQLite destination copies them one after another.`}
          >
            {(p) => (
              <input
                {...p}
                inputMode="numeric"
                placeholder={String(SYNC_DEFAULTS.parallelism)}
                value={d.parallelism}
                onChange={(e) => change({ parallelism: e.target.value })}
              />
            )}
          </PlacedField>
        )}
        <PlacedField path="pollIntervalMs" label="Poll interval" hint='Pause after a short batch: ms or "500ms", "5s", "1m" (default 5s).'>
          {(p) => <input {...p} placeholder="5s" value={d.pollInterval} onChange={(e) => change({ pollInterval: e.target.value }, 'pollIntervalMs')} />}
        </PlacedField>
        {cursor && (
          <PlacedField
            path="delayMs"
            label="Delay"
            hint="Rows newer than the database's now() minus this wait for a later poll (default 0). A source that cannot see other sessions' transactions needs it: the longest time a write transaction stays open."
          >
            {(p) => <input {...p} placeholder="0" value={d.delay} onChange={(e) => change({ delay: e.target.value }, 'delayMs')} />}
          </PlacedField>
        )}
        <PlacedField path="onError" label="When the destination rejects a row">
          {(p) => (
            <select {...p} value={d.onError} onChange={(e) => change({ onError: e.target.value as SyncDraft['onError'] })}>
              <option value="stop">stop the sync (default)</option>
              <option value="skip">set the row aside and go on</option>
            </select>
          )}
        </PlacedField>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={d.createTable} onChange={(e) => change({ createTable: e.target.checked })} /> Create the destination table when it is
        missing
      </label>
      {cursor && (
        <>
          <label className="checkbox">
            <input type="checkbox" checked={d.delayOnly} onChange={(e) => change({ delayOnly: e.target.checked }, 'watermark')} />
            <span>
              Where the source cannot see other sessions' transactions, rely on the delay alone (<code>watermark: "delay-only"</code>): rows they commit later
              than the delay may be skipped
            </span>
          </label>
          <SourceCheckNote check={sourceCheck} />
        </>
      )}
    </>
  );
}
