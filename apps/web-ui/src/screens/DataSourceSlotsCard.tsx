import { Link } from 'react-router';
import type { DataSourceSlotsView, SlotHolderView } from '@idra/api-client';
import { useSlots } from '../api/queries.ts';
import { Section } from '../components/Page.tsx';
import { ErrorState, Loading } from '../components/Status.tsx';
import { formatAgo, formatDateTime } from '../lib/format.ts';

function limitText(max: number | null, used: number): string {
  return max === null ? `${used} / no limit` : `${used} / ${max}`;
}

function Holders({ list, empty, at }: { list: SlotHolderView[]; empty: string; at: (h: SlotHolderView) => string }) {
  if (list.length === 0) return <span className="muted">{empty}</span>;
  return (
    <ol className="inline-list">
      {list.map((h) => (
        <li key={h.syncId} title={formatDateTime(at(h))}>
          <Link to={`/syncs/${encodeURIComponent(h.syncId)}`}>{h.syncId}</Link>{' '}
          <span className="muted small">
            on {h.agentId}, {formatAgo(at(h))}
          </span>
        </li>
      ))}
    </ol>
  );
}

function SlotsRow({ d }: { d: DataSourceSlotsView }) {
  const readers = d.held.filter((h) => h.roles.includes('read')).length;
  const writers = d.held.filter((h) => h.roles.includes('write')).length;
  return (
    <tr>
      <th scope="row">{d.dataSourceId}</th>
      <td>{limitText(d.maxConcurrentSyncs, d.held.length)}</td>
      <td>{limitText(d.maxReaders, readers)}</td>
      <td>{limitText(d.maxWriters, writers)}</td>
      <td>
        <Holders list={d.held} empty="none" at={(h) => h.grantedAt ?? h.since} />
        {d.holdSlotWhileIdle && <div className="muted small">slots kept between polls</div>}
      </td>
      <td>
        <Holders list={d.waiting} empty="nobody" at={(h) => h.since} />
      </td>
    </tr>
  );
}

/** Data sources with a concurrency limit: slots in use against each limit, who holds them, who waits (served in that order). */
export function DataSourceSlotsCard() {
  const slots = useSlots();
  if (slots.isPending) return <Loading what="data source slots" />;
  if (slots.isError) return <ErrorState error={slots.error} what="the data source slots" onRetry={() => void slots.refetch()} />;
  if (slots.data.length === 0) return null;
  return (
    <Section title="Concurrency">
      <p className="muted">
        A data source with <code>maxConcurrentSyncs</code>, <code>maxReaders</code> or <code>maxWriters</code> lets that many syncs use it at once; the others
        wait, in order.
      </p>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Data source</th>
              <th scope="col">Syncs</th>
              <th scope="col">Readers</th>
              <th scope="col">Writers</th>
              <th scope="col">Held by</th>
              <th scope="col">Waiting (in order)</th>
            </tr>
          </thead>
          <tbody>
            {slots.data.map((d) => (
              <SlotsRow key={d.dataSourceId} d={d} />
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
