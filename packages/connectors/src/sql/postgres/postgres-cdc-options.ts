import { createHash } from 'node:crypto';
import { Option, type Sync } from '@idra/core';
import { CHANGE_LOG_OPTIONS } from '../cdc-options.ts';

const source = { only: 'source' } as const;

/** Options of a PostgreSQL source in mode `cdc` (logical replication); the other modes ignore them. */
export const CDC_OPTIONS = {
  slot: Option.optionalString(
    'cdc: the replication slot the sync reads (lower-case letters, digits and _; default idra_<sync id>); dropped when the sync is deleted',
    source,
  ),
  publication: Option.optionalString(
    'cdc: the publication of the table (default idra_<sync id>, created by Idra); a publication of your own must already include the table',
    source,
  ),
  ...CHANGE_LOG_OPTIONS,
};

/** `idra_<sync id>` as PostgreSQL allows slot names: lower-case, [a-z0-9_], at most 63 characters. */
export function defaultSlotName(syncId: string): string {
  const plain = `idra_${syncId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  if (plain.length <= 63 && plain === `idra_${syncId}`) return plain;
  // Two ids that differ only in case or punctuation still get two slots.
  return `${plain.slice(0, 54)}_${createHash('sha1').update(syncId).digest('hex').slice(0, 8)}`;
}

/** The slot and publication names a cdc sync uses (options, or the defaults from the sync id). */
export function cdcNames(sync: Pick<Sync, 'id'> & { source: { options?: Record<string, unknown> | undefined } }): { slot: string; publication: string } {
  const options = sync.source.options ?? {};
  const fallback = defaultSlotName(sync.id);
  return {
    slot: typeof options.slot === 'string' ? options.slot : fallback,
    publication: typeof options.publication === 'string' ? options.publication : fallback,
  };
}
