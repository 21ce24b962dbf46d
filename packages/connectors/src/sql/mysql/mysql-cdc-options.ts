import { createHash } from 'node:crypto';
import { Option, type Sync } from '@idra/core';
import { CHANGE_LOG_OPTIONS } from '../cdc-options.ts';

/** Server ids Idra picks for its binlog readers: the upper three quarters of the 32-bit range, above the small ids servers are usually given. */
const SERVER_ID_FLOOR = 0x40000000;
const SERVER_ID_MAX = 0xffffffff;

/** Options of a MySQL / MariaDB source in mode `cdc` (the binlog); the other modes ignore them. */
export const CDC_OPTIONS = {
  ...CHANGE_LOG_OPTIONS,
  serverId: Option.integer(
    'cdc: the replica server id the sync reads the binlog as, unique among the servers and readers of the source (0: derived from the sync id, 1073741824 or above)',
    0,
    { min: 0, max: SERVER_ID_MAX },
    { only: 'source' },
  ),
};

/** The server id of a sync's binlog reader: `options.serverId`, or one derived from the sync id (the same on every agent). */
export function binlogServerId(sync: Pick<Sync, 'id'> & { source: { options?: Record<string, unknown> | undefined } }): number {
  const given = sync.source.options?.serverId;
  if (typeof given === 'number' && given > 0) return given;
  const hash = createHash('sha1').update(sync.id).digest().readUInt32BE(0);
  return SERVER_ID_FLOOR + (hash % (SERVER_ID_MAX - SERVER_ID_FLOOR));
}
