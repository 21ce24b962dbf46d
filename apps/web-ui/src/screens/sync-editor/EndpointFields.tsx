import { Link } from 'react-router';
import type { ConnectorKind } from '@idra/core/model';
import type { DataSource } from '@idra/api-client';
import { ConnectionFields } from '../../components/ConnectionFields.tsx';
import { Field } from '../../components/Field.tsx';
import { fieldsOf, type Catalogue, type EndpointDraft } from '../../lib/sync-draft.ts';
import { PlacedField, usePlaced, usePlacedIssue } from './issues.tsx';
import type { TableInfo } from './hooks.ts';

/** How the form names the endpoint fields a connector may read (the catalogue says which it reads), and their lists of suggestions. */
const TEXT_FIELDS = {
  schema: { label: 'Schema', list: 'schemas' },
  table: { label: 'Table', list: 'tables' },
  collection: { label: 'Collection', list: 'collections' },
  topic: { label: 'Topic', list: 'topics' },
  bucket: { label: 'Bucket', list: 'buckets' },
  prefix: { label: 'Key prefix', list: 'prefixes' },
  url: { label: 'URL', list: 'urls' },
} as const;
type TextField = keyof typeof TEXT_FIELDS;

interface EndpointProps {
  role: 'source' | 'destination';
  value: EndpointDraft;
  onChange: (v: EndpointDraft) => void;
  catalogue: Catalogue;
  dataSources: DataSource[];
  /** What the endpoint's data source holds, when it is listed. */
  tables: TableInfo[];
}

/** Suggestions for a field from the data source's listing: names of its tables, collections, topics …, buckets by their schema. */
function suggestions(field: TextField, tables: TableInfo[], value: EndpointDraft): string[] {
  if (field === 'bucket') return [...new Set(tables.map((t) => t.schema ?? ''))].filter(Boolean);
  if (field === 'prefix') return tables.filter((t) => t.schema === value.bucket.trim()).map((t) => t.name);
  if (field === 'schema') return [...new Set(tables.map((t) => t.schema ?? ''))].filter(Boolean);
  return tables.map((t) => t.name);
}

/** One endpoint of the sync: its connector, data source or connection, and the fields its connector reads in this role. */
export function EndpointFields({ role, value, onChange, catalogue, dataSources, tables }: EndpointProps) {
  const set = (patch: Partial<EndpointDraft>) => onChange({ ...value, ...patch });
  const label = (kind: ConnectorKind) => catalogue.find((c) => c.kind === kind)?.label ?? kind;
  const matching = dataSources.filter((d) => d.connector === value.connector);
  const fields = fieldsOf(catalogue, value.connector, role);
  const required = catalogue.find((c) => c.kind === value.connector)?.roles[role]?.required.flat() ?? [];
  const choosesQuery = fields.includes('table') && fields.includes('query');
  const at = (f: string) => `${role}.${f}`;
  const dataSourceIssue = usePlacedIssue(at('dataSourceId'));
  // Without a connection written here, its absence is the data source field's problem.
  const connectionIssue = usePlacedIssue(at('connection'));
  const issue = usePlaced(at('connection.*'));
  const text = (f: TextField) => (
    <PlacedField key={f} path={at(f)} label={TEXT_FIELDS[f].label} hint={required.includes(f) ? undefined : 'Optional'}>
      {(p) => (
        <>
          <input {...p} list={`${role}-${TEXT_FIELDS[f].list}`} value={value[f]} onChange={(e) => set({ [f]: e.target.value })} spellCheck={false} />
          <datalist id={`${role}-${TEXT_FIELDS[f].list}`}>
            {suggestions(f, tables, value).map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </>
      )}
    </PlacedField>
  );
  return (
    <fieldset className="endpoint">
      <legend>{role === 'source' ? 'Source: where rows are read' : 'Destination: where rows are written'}</legend>
      <div className="grid-2">
        <PlacedField path={at('connector')} label="Connector">
          {(p) => (
            <select {...p} value={value.connector} onChange={(e) => set({ connector: e.target.value as ConnectorKind, dataSourceId: '' })}>
              {catalogue
                .filter((c) => c.roles[role])
                .map((c) => (
                  <option key={c.kind} value={c.kind}>
                    {c.label}
                  </option>
                ))}
            </select>
          )}
        </PlacedField>
        <Field
          label="Data source"
          error={dataSourceIssue ?? (value.via === 'connection' ? undefined : connectionIssue)}
          hint={
            matching.length === 0 ? (
              <>
                No {label(value.connector)} data source yet: <Link to="/datasources">add one</Link>, or give the connection here.
              </>
            ) : (
              'A named connection shared by syncs, or one written into this sync.'
            )
          }
        >
          {(p) => (
            <select
              {...p}
              value={value.via === 'connection' ? '__inline' : value.dataSourceId}
              onChange={(e) => (e.target.value === '__inline' ? set({ via: 'connection' }) : set({ via: 'dataSource', dataSourceId: e.target.value }))}
            >
              <option value="">— choose —</option>
              {matching.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name && d.name !== d.id ? `${d.name} (${d.id})` : d.id}
                </option>
              ))}
              <option value="__inline">Connection written into this sync…</option>
            </select>
          )}
        </Field>
      </div>
      {value.via === 'connection' && (
        <ConnectionFields
          connector={value.connector}
          value={value.connection}
          onChange={(connection) => set({ connection })}
          issue={(f) => issue(at(`connection.${f}`)) ?? (f === 'url' ? connectionIssue : undefined)}
        />
      )}
      {choosesQuery && (
        <div className="segmented" role="radiogroup" aria-label="Read from">
          <label>
            <input type="radio" checked={value.readFrom === 'table'} onChange={() => set({ readFrom: 'table' })} /> A table
          </label>
          <label>
            <input type="radio" checked={value.readFrom === 'query'} onChange={() => set({ readFrom: 'query' })} /> A query
          </label>
        </div>
      )}
      <div className="grid-2">
        {(['schema', 'bucket'] as const).filter((f) => fields.includes(f)).map(text)}
        {choosesQuery && value.readFrom === 'query' ? (
          <PlacedField path={at('query')} label="Query" className="span-2" hint="A SELECT; Idra wraps it as a sub-query and adds its cursor conditions.">
            {(p) => <textarea {...p} rows={4} className="mono" value={value.query} onChange={(e) => set({ query: e.target.value })} spellCheck={false} />}
          </PlacedField>
        ) : (
          (['table', 'collection', 'topic', 'prefix', 'url'] as const).filter((f) => fields.includes(f)).map(text)
        )}
        {fields.includes('columns') && (
          <PlacedField path={at('columns')} label="Columns" hint="Comma-separated; empty copies all columns.">
            {(p) => <input {...p} value={value.columns} onChange={(e) => set({ columns: e.target.value })} spellCheck={false} />}
          </PlacedField>
        )}
      </div>
    </fieldset>
  );
}
