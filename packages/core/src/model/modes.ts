import { SQL_CONNECTORS, type ConnectorKind } from './connector-kinds.ts';
import type { PositionKind } from './position.ts';

/** What a sync mode is: how it resumes, what it needs, and which connectors can play it. */
export interface ModeInfo {
  /** Short name shown in the web UI. */
  label: string;
  /** One sentence for people choosing a mode. */
  help: string;
  /** What the source's server must allow for the mode, shown once the mode is chosen. */
  needs?: string | undefined;
  /** Kind of the position the mode resumes from. */
  position: PositionKind;
  /** Follows a cursor column: `cursorColumn` is required. */
  cursor: boolean;
  /** The cursor is a timestamp: a unique tiebreaker column orders equal stamps, and `delayMs` applies. */
  timestamp: boolean;
  /** Resumes from MAX(cursor) read in the destination; stores no offset. */
  fromDestination: boolean;
  /** Pages by the key columns: `keyColumns` is required. */
  keyed: boolean;
  /** Source connectors that read in this mode. */
  sources: readonly ConnectorKind[];
  /** Destination connectors the mode can run with: all of them, unless the mode reads its resume point there. */
  destinations?: readonly ConnectorKind[] | undefined;
  /**
   * Follows the database's change log: the source's read waits for changes itself (the runner reads
   * again at once instead of sleeping `pollIntervalMs`), and changes are applied by key (`upsert`).
   */
  log?: boolean | undefined;
}

const SQL_AND_MONGODB: readonly ConnectorKind[] = [...SQL_CONNECTORS, 'mongodb'];

/**
 * The one table of sync modes. Validation, the runner, the offset routes, the web UI and the
 * connector catalogue all read it: adding a mode is a row here plus the sources that implement it.
 */
export const MODE_TABLE = {
  id: {
    label: 'Increasing id',
    help: 'Follows an increasing integer column and stores the last value copied. New rows only.',
    position: 'id',
    cursor: true,
    timestamp: false,
    fromDestination: false,
    keyed: false,
    sources: SQL_AND_MONGODB,
  },
  timestamp: {
    label: 'Timestamp',
    help: 'Follows a last-modified timestamp (with a unique tiebreaker column) and stores both: copies new and changed rows.',
    position: 'timestamp',
    cursor: true,
    timestamp: true,
    fromDestination: false,
    keyed: false,
    sources: SQL_AND_MONGODB,
  },
  'destination-id': {
    label: 'Destination id',
    help: 'Resumes from the largest id already in the destination; stores no offset (original Go Idra LastDestinationId).',
    position: 'id',
    cursor: true,
    timestamp: false,
    fromDestination: true,
    keyed: false,
    sources: SQL_CONNECTORS,
    destinations: SQL_AND_MONGODB,
  },
  'destination-timestamp': {
    label: 'Destination timestamp',
    help: 'Resumes from the newest timestamp already in the destination; stores no offset.',
    position: 'timestamp',
    cursor: true,
    timestamp: true,
    fromDestination: true,
    keyed: false,
    sources: SQL_CONNECTORS,
    destinations: SQL_AND_MONGODB,
  },
  full: {
    label: 'Full copy',
    help: 'Copies every row on each pass, paged by the key columns. Use with upsert.',
    position: 'full',
    cursor: false,
    timestamp: false,
    fromDestination: false,
    keyed: true,
    sources: SQL_AND_MONGODB,
  },
  stream: {
    label: 'Change stream',
    help: 'Follows what the source itself orders (MongoDB change stream, Kafka offsets, S3 keys, an API cursor); not available on SQL sources.',
    position: 'stream',
    cursor: false,
    timestamp: false,
    fromDestination: false,
    keyed: false,
    sources: ['mongodb', 'kafka', 's3', 'http'],
  },
  cdc: {
    label: 'Change data capture',
    help: "Copies the table from a consistent snapshot, then follows the database's change log: inserts, updates and deletes within a second.",
    needs:
      'The source server must keep a change log that Idra may read: on PostgreSQL wal_level = logical and a user with REPLICATION; on MySQL / MariaDB log_bin, binlog_format = ROW, binlog_row_image = FULL and a user with REPLICATION SLAVE and BINLOG MONITOR (REPLICATION CLIENT on MySQL). Test connections checks them and says what to change.',
    position: 'stream',
    cursor: false,
    timestamp: false,
    fromDestination: false,
    keyed: true,
    sources: ['postgres', 'mysql'],
    // The destinations that apply deletes and truncates of the change contract.
    destinations: SQL_CONNECTORS,
    log: true,
  },
} as const satisfies Record<string, ModeInfo>;

export type SyncMode = keyof typeof MODE_TABLE;

/** The modes that read their resume point from the destination (`destination-id`, `destination-timestamp`). */
export type DestinationMode = { [M in SyncMode]: (typeof MODE_TABLE)[M]['fromDestination'] extends true ? M : never }[SyncMode];

/** Every mode, in the table's order. */
export const MODES = Object.keys(MODE_TABLE) as SyncMode[];

/** The facts of one mode. */
export function modeInfo(mode: SyncMode): ModeInfo {
  return MODE_TABLE[mode];
}

/** True for the modes that resume from the destination and store no offset. */
export function resumesFromDestination(mode: SyncMode): mode is DestinationMode {
  return modeInfo(mode).fromDestination;
}

/** The position kind a mode stores as its offset; undefined for modes that resume from the destination. */
export function storedKind(mode: SyncMode): PositionKind | undefined {
  return resumesFromDestination(mode) ? undefined : modeInfo(mode).position;
}

/** True for the modes whose passes read every row from the start, which `parallelism` cuts into key ranges: `full`, and the first pass of `id` and `timestamp`. */
export function copiesInRanges(mode: SyncMode): boolean {
  const kind = storedKind(mode);
  return kind === 'id' || kind === 'timestamp' || kind === 'full';
}

/** True for the modes that follow a change log (`cdc`). */
export function followsLog(mode: SyncMode): boolean {
  return modeInfo(mode).log === true;
}

/** The modes a connector can play `role` in. */
export function modesOf(connector: ConnectorKind, role: 'source' | 'destination'): SyncMode[] {
  return MODES.filter((m) => {
    const info = modeInfo(m);
    return role === 'source' ? info.sources.includes(connector) : (info.destinations ?? [connector]).includes(connector);
  });
}
