import type { DataSource } from '@idra/api-client';
import { Field } from '../components/Field.tsx';

/** The concurrency limits and placement of a data source as the dialog edits them (text inputs). */
export interface LimitsDraft {
  maxConcurrentSyncs: string;
  maxReaders: string;
  maxWriters: string;
  holdSlotWhileIdle: boolean;
  /** `region=eu, net=dc1` */
  placement: string;
}

type Limits = Pick<DataSource, 'maxConcurrentSyncs' | 'maxReaders' | 'maxWriters' | 'holdSlotWhileIdle' | 'placement'>;

export function limitsToDraft(ds: Limits | undefined): LimitsDraft {
  const text = (n: number | undefined) => (n === undefined ? '' : String(n));
  return {
    maxConcurrentSyncs: text(ds?.maxConcurrentSyncs),
    maxReaders: text(ds?.maxReaders),
    maxWriters: text(ds?.maxWriters),
    holdSlotWhileIdle: ds?.holdSlotWhileIdle === true,
    placement: Object.entries(ds?.placement ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  };
}

/** The draft as document fields; what is not a number goes as typed, so that the API names the field. */
export function draftToLimits(d: LimitsDraft): Limits {
  const limit = (text: string) => (text.trim() === '' ? undefined : Number.isInteger(Number(text)) ? Number(text) : (text as unknown as number));
  const pairs = d.placement
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, ''] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    });
  const out: Limits = {};
  const max = limit(d.maxConcurrentSyncs);
  const readers = limit(d.maxReaders);
  const writers = limit(d.maxWriters);
  if (max !== undefined) out.maxConcurrentSyncs = max;
  if (readers !== undefined) out.maxReaders = readers;
  if (writers !== undefined) out.maxWriters = writers;
  if (d.holdSlotWhileIdle) out.holdSlotWhileIdle = true;
  if (pairs.length > 0) out.placement = Object.fromEntries(pairs);
  return out;
}

/** Cluster mode: how many syncs may use the data source at once, and which agents may reach it. */
export function DataSourceLimitsFields({
  value,
  onChange,
  issue,
}: {
  value: LimitsDraft;
  onChange: (d: LimitsDraft) => void;
  issue: (field: string) => string | undefined;
}) {
  const set = (patch: Partial<LimitsDraft>) => onChange({ ...value, ...patch });
  const number = (field: 'maxConcurrentSyncs' | 'maxReaders' | 'maxWriters', label: string, hint: string) => (
    <Field label={label} hint={hint} error={issue(field)}>
      {(p) => <input {...p} inputMode="numeric" value={value[field]} onChange={(e) => set({ [field]: e.target.value })} placeholder="no limit" />}
    </Field>
  );
  return (
    <fieldset>
      <legend>Concurrency and placement (cluster mode)</legend>
      <div className="grid-2">
        {number('maxConcurrentSyncs', 'Syncs at once', '1 makes it exclusive; the others wait, in order.')}
        {number('maxReaders', 'Readers at once', 'Syncs reading from it.')}
        {number('maxWriters', 'Writers at once', 'Syncs writing to it.')}
        <Field
          label="Agents with labels"
          hint="e.g. region=eu, net=dc1: syncs using it run only on agents started with these --labels."
          error={issue('placement')}
        >
          {(p) => <input {...p} value={value.placement} onChange={(e) => set({ placement: e.target.value })} spellCheck={false} autoComplete="off" />}
        </Field>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={value.holdSlotWhileIdle} onChange={(e) => set({ holdSlotWhileIdle: e.target.checked })} /> Keep the slot between polls
        (by default a sync gives it back whenever it has caught up)
      </label>
    </fieldset>
  );
}
