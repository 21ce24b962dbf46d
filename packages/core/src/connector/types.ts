import type { Sync, ResolvedEndpoint } from '../model/schema.ts';
import type { CopyRange, Position } from '../model/position.ts';
import type { DestinationMode } from '../model/modes.ts';
import type { Change } from './changes.ts';

/** Database-neutral column types; every connector maps its own types to and from these. */
export const LOGICAL_TYPES = [
  'boolean',
  'int32',
  'int64',
  'decimal',
  'float',
  'text',
  'uuid',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'json',
  'bytes',
] as const;
export type LogicalType = (typeof LOGICAL_TYPES)[number];

export interface Column {
  name: string;
  type: LogicalType;
  /** Decimal digits of a `decimal` column, when the database declares them. */
  precision?: number | undefined;
  /** Digits after the point of a `decimal` column, when the database declares them. */
  scale?: number | undefined;
  /**
   * The type was guessed from the values of one batch (JSON, BSON), not declared by the source: a
   * later batch may hold wider values (a fraction where integers were), so a destination that
   * creates a table gives such a numeric column a type that holds any number exactly.
   */
  inferred?: boolean | undefined;
}

/**
 * One row, keyed by column name. Values keep their precision: 64-bit integers and decimals are
 * decimal strings, timestamps are `YYYY-MM-DD HH:MM:SS[.ffffff]` text (UTC for `timestamptz`),
 * JSON is parsed (a number a double cannot hold exactly is a raw JSON number, `JSON.rawJSON`, which
 * `JSON.stringify` writes back digit for digit), bytes are Uint8Array.
 */
export type Row = Record<string, unknown>;

/** An open source transaction that keeps a sync's watermark from advancing. */
export interface BlockingTransaction {
  /** The database session holding it (`pid 4242` on PostgreSQL, `connection 17` on MySQL/MariaDB). */
  session: string;
  /** How long it has been open. */
  seconds: number;
}

/**
 * Changes read from a source, in order, and the position just after the last of them: rows to write
 * (upserts, or inserts under writeMode `insert`) and, sparsely beside them, deletes by key and schema
 * changes with their places among the rows. A destination applies them in that order, in one
 * transaction where the store allows; the offset is committed after.
 */
export interface Batch {
  columns: Column[];
  rows: Row[];
  /** Deletes and schema changes, ordered by `at` (their place among `rows`); absent or empty for a batch of rows alone. */
  changes?: Change[] | undefined;
  /** How many of `rows` update a row the source had (a change log's updates; the others are inserts); absent when the source cannot tell. */
  updates?: number | undefined;
  /**
   * Position after this batch; equal to the input position when the batch is empty, except in a mode
   * that follows a change log, where an empty batch may move past changes that are not the sync's
   * (the runner then commits the offset without a write).
   */
  position: Position;
  /** Why the source read no further than it did (e.g. an open transaction); shown in the status. */
  heldBack?: string | undefined;
  /** The open transaction that holds the read back, when one does. */
  blockedBy?: BlockingTransaction | undefined;
  /** The cursor value the source read up to (its watermark), when it bounds its reads; shown in the status. */
  watermark?: string | undefined;
  /** A condition weakening what the source guarantees (e.g. missing privileges); shown in the status and logged. */
  warning?: string | undefined;
  /** The rows are still encoded in this form ({@link RowEncoding}): only their cursor and key columns are decoded. */
  encoding?: RowEncoding | undefined;
  /** The rows are in ascending order of the sync's key columns (a copy read in key order): rows of one key sit side by side. */
  keyOrdered?: boolean | undefined;
}

/**
 * A storage form in which a source can hand rows to a destination that stores them the same way
 * (PostgreSQL's binary COPY tuples, to PostgreSQL), so that no value is decoded and encoded again.
 * Such a row holds its cursor and key columns decoded, as usual, and the whole row still encoded
 * under {@link ENCODED_ROW}. Offered by the source and accepted by the destination before any read,
 * for columns whose native types match; every other sync moves decoded values.
 */
export interface RowEncoding {
  /** E.g. `postgres-binary`. */
  format: string;
  /** The encoded columns, in the order of each encoded row. */
  columns: Column[];
  /** The source's own type of each column (PostgreSQL: the type OID). */
  native: string[];
  /** All the values of an encoded row, decoded for people to read (a dead letter). */
  decode(row: EncodedRow): Row;
}

/** Where a row read in a {@link RowEncoding} keeps its encoded values. */
export const ENCODED_ROW: unique symbol = Symbol('idra.encodedRow');

/** A row read in a {@link RowEncoding}: its cursor and key columns decoded, all its values still encoded. */
export type EncodedRow = Row & { readonly [ENCODED_ROW]: Uint8Array };

/**
 * The keys of a table, listed in key order: what mirror passes and key reconciliation compare at
 * both ends. A key is the values of the sync's key columns as canonical text.
 */
export interface KeyLister {
  /** Keys after `after` (exclusive; null: from the first) up to `upTo` (inclusive; null: to the last), in key order, at most `limit`. */
  keys(after: string[] | null, upTo: string[] | null, limit: number, signal: AbortSignal): Promise<string[][]>;
  /** Which of `keys` exist now, by exact match (whatever the order or collation of the table). */
  existing(keys: string[][], signal: AbortSignal): Promise<string[][]>;
  /** The number of rows. */
  count(signal: AbortSignal): Promise<number>;
  /**
   * The ways {@link digest} can turn keys into a digest (e.g. `md5-60-sum:int`), fastest first: two listers compare digests
   * of a form both have, else they list their keys. Absent, with keyAt and digest, where the database cannot compute one.
   */
  digestForms?(signal: AbortSignal): Promise<string[]>;
  /** The `n`-th key after `after` (null: from the first) up to `upTo` (inclusive; null: to the last), or null when fewer follow. */
  keyAt?(after: string[] | null, n: number, upTo: string[] | null, signal: AbortSignal): Promise<string[] | null>;
  /** The number of keys after `after` up to `upTo` (the bounds of {@link keys}) and a digest of them in `form`, which does not depend on their order. */
  digest?(after: string[] | null, upTo: string[] | null, form: string, signal: AbortSignal): Promise<{ count: number; digest: string }>;
}

/** How far the source is ahead of a position, when the source can tell. */
export interface Lag {
  /** Rows not yet copied (estimate), when countable. */
  rows?: number | undefined;
  /** Seconds between the newest source row and the position, for timestamp cursors. */
  seconds?: number | undefined;
  /** The source's newest cursor value. */
  head?: string | undefined;
  /** Rows not yet copied per part of the source, when it has parts (Kafka: per partition). */
  parts?: Record<string, number> | undefined;
  /** Bytes of change log between the position and the server's current one (PostgreSQL WAL, binlog). */
  bytes?: number | undefined;
  /** The initial copy of a change-log sync, while it runs. */
  snapshot?: SnapshotProgress | undefined;
}

/** How far the initial copy of a change-log sync has come. */
export interface SnapshotProgress {
  /** Rows copied so far. */
  rows: number;
  /** Rows in the table, as the database estimates them. */
  total: number;
  /** Seconds left at the rate seen so far, once there is one. */
  etaSeconds?: number | undefined;
}

/** Reads rows in cursor order. Implementations release their connections in `close`. */
export interface Source {
  /**
   * Reads at most `limit` rows after `position`. `upTo` (only for a source with {@link copyRanges}):
   * no row past this key of the order columns, and no watermark — the range was cut below it.
   */
  read(position: Position, limit: number, signal: AbortSignal, upTo?: string[]): Promise<Batch>;
  /**
   * Cuts the rows a pass starting at `position` would read into about `count` key ranges of about
   * equal size, for a copy in parallel; undefined when there is too little to cut. In a cursor mode
   * every cut lies below the watermark: the rows of a bounded range are final. The last range may be
   * open-ended (`to` null): it is then read with the watermark, and done at its first short read.
   */
  copyRanges?(position: Position, count: number, signal: AbortSignal): Promise<CopyRange[] | undefined>;
  /**
   * Called once a batch ending at `position` is committed (in the destination, then the offset):
   * the source may tell its server (Kafka: a consumer group's offsets, so standard tools show the
   * lag). Never read back; a failure is logged and the sync goes on.
   */
  committed?(position: Position): Promise<void>;
  /** The source's keys, when it can list them (SQL tables): for mirror passes and key reconciliation. */
  keyLister?(): KeyLister;
  /** How far behind `position` is; undefined when the source cannot tell. */
  lag?(position: Position): Promise<Lag | undefined>;
  /** The encoding this source can read its rows in, when it has one ({@link RowEncoding}). */
  encodings?(): RowEncoding | undefined;
  /** Reads the following batches in `encoding` (one that {@link encodings} offered and the destination accepted). */
  readEncoded?(encoding: RowEncoding): void;
  close(): Promise<void>;
}

/** Outcome of writing one batch. */
export interface WriteResult {
  written: number;
  /** Rows the deletes removed, when the store counts them (else each delete counts as one). */
  deleted?: number | undefined;
  /** Why the destination writes more slowly than it could (a server setting that rules out its bulk path); logged when it appears or changes. */
  warning?: string | undefined;
}

/** Writes batches; each `write` is atomic where the store allows (one transaction). */
export interface Destination {
  /**
   * Applies the batch's rows and changes in order and commits them. A data error names the row
   * through RowRejectedError when it can.
   *
   * `commitAfter` (given only when {@link commitsAfter} is set): the store of the previous batch's
   * offset, still under way. The write may go on meanwhile but commits only once it has succeeded;
   * when it fails, the batch is rolled back and that failure (a fence) is thrown as it is.
   */
  write(batch: Batch, signal: AbortSignal, commitAfter?: Promise<void>): Promise<WriteResult>;
  /** Whether {@link write} takes `commitAfter`: it writes while the previous offset is stored, and commits after it. */
  readonly commitsAfter?: boolean;
  /** Whether other instances may write to the same target at the same time (the key ranges of a copy in parallel). */
  readonly parallelWrites?: boolean;
  /** The destination's keys, when it can list them (SQL tables): for mirror passes and key reconciliation. */
  keyLister?(): KeyLister;
  /** The resume point read from the destination itself (destination-id / destination-timestamp modes). */
  resumePosition?(mode: DestinationMode): Promise<Position>;
  /** Whether it can write rows read in `encoding` as they are (creating its table first when it may). */
  accepts?(encoding: RowEncoding, signal: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** What a connector needs to open a source or destination for a sync. */
export interface EndpointContext {
  sync: Sync;
  endpoint: ResolvedEndpoint;
  role: 'source' | 'destination';
}

/** Opens sources and destinations by connector kind; the agent supplies one built from packages/connectors. */
export interface ConnectorRegistry {
  openSource(ctx: EndpointContext): Promise<Source>;
  openDestination(ctx: EndpointContext): Promise<Destination>;
}

/** Whether an `id`/`timestamp` sync reading through a connection sees other sessions' open transactions. */
export interface TransactionVisibility {
  /** It sees them: such a sync needs no `delayMs`. */
  visible: boolean;
  /** Why not, when it does not. */
  reason?: string | undefined;
  /** The statement that lets the connection's user see them, when one does. */
  grant?: string | undefined;
}

/** Whether a sync's source can be read as configured, found before it runs (`POST /syncs/check`). */
export interface SourceCheck {
  /** An agent would read it: the connection works and nothing stops the sync. */
  ok: boolean;
  /** The connection failed: the driver's text, with the connection's secrets removed. */
  error?: string | undefined;
  /** What would stop the sync (the error its agent would report, e.g. `IDRA_ERR_CONFIG_WATERMARK_BLIND`), with what to do. */
  problem?: { code: string; message: string } | undefined;
  /** What would weaken its guarantee while it runs (the warning its status would show). */
  warning?: string | undefined;
  transactions?: TransactionVisibility | undefined;
  /** Whether a `cdc` sync could read this source's change log, when the connector has one. */
  changeLog?: ChangeLogReadiness | undefined;
}

/** What the server's settings and the user's privileges allow a `cdc` sync (PostgreSQL: wal_level, REPLICATION, free slots). */
export interface ChangeLogReadiness {
  ready: boolean;
  /** What stops it, each with what to change. */
  problems: string[];
  /** Idra's replication slots on this server (`idra_…`), with the WAL each keeps: a slot whose sync is gone keeps it forever. */
  slots?: ChangeLogSlot[] | undefined;
}

/** A replication slot Idra made on a source server. */
export interface ChangeLogSlot {
  name: string;
  /** A session reads it now. */
  active: boolean;
  /** WAL bytes the server keeps for it. */
  lagBytes: number;
  /** The sync it belongs to; null when no sync has it (the API fills this in: drop the slot). */
  sync?: string | null | undefined;
}
