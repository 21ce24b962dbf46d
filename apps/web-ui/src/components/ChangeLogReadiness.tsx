import type { ConnectionTestResult } from '@idra/api-client';
import { formatBytes } from '../lib/format.ts';

type Readiness = NonNullable<ConnectionTestResult['changeLog']>;

/**
 * What "Test connection" found for mode cdc: whether the server's change log can be read (and what to
 * change if not), and Idra's replication slots there — one whose sync is gone keeps the WAL until dropped.
 */
export function ChangeLogReadiness({ readiness }: { readiness: Readiness }) {
  return (
    <>
      {readiness.ready ? (
        <p className="ok-text" role="status">
          ✓ Change data capture (mode cdc) can read this server's change log.
        </p>
      ) : (
        <div className="warning-note" role="status">
          A sync in mode cdc from here will not start:
          <ul>
            {readiness.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {readiness.slots && readiness.slots.length > 0 && (
        <ul className="slot-list" aria-label="Replication slots">
          {readiness.slots.map((slot) => (
            <li key={slot.name} className={slot.sync === null ? 'warning-note' : undefined}>
              <code>{slot.name}</code> keeps {formatBytes(slot.lagBytes)} of WAL
              {slot.sync ? ` for sync ${slot.sync}` : ''}
              {slot.sync === null && (
                <>
                  {' '}
                  and belongs to no sync: drop it with <code>{`SELECT pg_drop_replication_slot('${slot.name}')`}</code>
                </>
              )}
              {slot.active ? ' (being read)' : ''}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
