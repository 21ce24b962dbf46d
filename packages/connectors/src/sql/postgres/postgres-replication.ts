import type { Socket } from 'node:net';
import pg from 'pg';
import type { Connection } from '@idra/core';
import { poolConfig } from './postgres-driver.ts';
import { decodeReplication, formatLsn, parseLsn, standbyStatus, type Lsn } from './pgoutput.ts';

/**
 * How often a status update goes to the server unasked: well inside `wal_sender_timeout` (60 s by
 * default), and often enough that the server's keepalive answering it (when it has sent past what we
 * reported, e.g. skipped transactions of other tables) tells us its position within a second.
 */
const STATUS_EVERY_MS = 1_000;

const ident = pg.escapeIdentifier;

/** Receives the pgoutput messages of a started stream. */
export interface StreamHandler {
  /** One pgoutput message (the payload of an XLogData), in log order. */
  message(payload: Buffer): void;
  /** The server has sent everything before `walEnd` (a keepalive, in order with the messages). */
  keepalive(walEnd: Lsn): void;
  /** The stream ended: the server closed it, the connection broke, or `close()` was called. */
  end(err: Error | undefined): void;
}

/**
 * One walsender connection (`replication=database`) of the pg driver: creates a slot with an
 * exported snapshot, streams a slot, answers keepalives, and reports what is safely applied.
 * pg speaks the protocol's CopyBoth phase as CopyData events on its connection; nothing else is
 * needed from a driver, which is why no replication library is used (their decoders parse values
 * with their own type parsers — timestamps through Date — and acknowledge on their own schedule).
 */
export class ReplicationConnection {
  private readonly client: pg.Client;
  private received: Lsn = 0n;
  private flushed: Lsn = 0n;
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  private constructor(client: pg.Client) {
    this.client = client;
  }

  /** Connects as a walsender of the endpoint's database. */
  static async open(connection: Connection, options: Record<string, unknown> | undefined): Promise<ReplicationConnection> {
    const config = poolConfig(connection, options);
    // A walsender takes no idle_in_transaction_session_timeout; the exported snapshot must outlive the copy.
    const client = new pg.Client({ ...config, options: '-c TimeZone=UTC -c DateStyle=ISO', replication: 'database' } as pg.ClientConfig);
    client.on('error', () => {}); // the stream's end() and the pending query report it
    await client.connect();
    return new ReplicationConnection(client);
  }

  /**
   * Creates a logical slot for pgoutput and exports its snapshot: a transaction that imports it
   * (`SET TRANSACTION SNAPSHOT`) sees exactly the rows committed before the slot's first change.
   * The snapshot lives while this connection runs no other command.
   */
  async createSlot(slot: string): Promise<{ lsn: Lsn; snapshot: string }> {
    const res = await this.client.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${ident(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = res.rows[0]!;
    return { lsn: parseLsn(row.consistent_point), snapshot: row.snapshot_name };
  }

  /**
   * Streams the slot's changes of `publication` from `from` (the server starts at the slot's
   * confirmed position if that is later). Transactions arrive whole, in commit order.
   */
  start(slot: string, publication: string, from: Lsn, handler: StreamHandler): void {
    this.flushed = from;
    this.received = from;
    this.started = true;
    const connection = (this.client as unknown as { connection: NodeJS.EventEmitter }).connection;
    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => {
      try {
        const m = decodeReplication(chunk);
        if (m.tag === 'keepalive') {
          if (m.walEnd > this.received) this.received = m.walEnd;
          handler.keepalive(m.walEnd);
          if (m.replyNow) this.sendStatus();
          return;
        }
        if (m.walEnd > this.received) this.received = m.walEnd;
        handler.message(m.message);
      } catch (err) {
        this.socket()?.destroy(err as Error);
      }
    });
    const sql = `START_REPLICATION SLOT ${ident(slot)} LOGICAL ${formatLsn(from)} (proto_version '1', publication_names ${pg.escapeLiteral(ident(publication))})`;
    this.client.query(sql).then(
      () => handler.end(undefined),
      (err: unknown) => handler.end(err instanceof Error ? err : new Error(String(err))),
    );
    this.timer = setInterval(() => this.sendStatus(), STATUS_EVERY_MS);
  }

  /** Whether `start` was called: the connection streams (or its stream has ended). */
  get streaming(): boolean {
    return this.started;
  }

  /** Everything up to `lsn` is applied and its offset committed: the server may recycle the WAL before it. */
  confirm(lsn: Lsn): void {
    if (lsn <= this.flushed) return;
    this.flushed = lsn;
    this.sendStatus();
  }

  /** Stops reading from the server (backpressure) or resumes. */
  pause(paused: boolean): void {
    const socket = this.socket();
    if (paused) socket?.pause();
    else socket?.resume();
  }

  private sendStatus(): void {
    if (!this.started) return;
    const connection = (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection;
    try {
      connection.sendCopyFromChunk(standbyStatus(this.received > this.flushed ? this.received : this.flushed, this.flushed));
    } catch {
      // A broken connection ends the stream, which reports it.
    }
  }

  private socket(): Socket | undefined {
    return (this.client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.started = false;
    // A streaming walsender answers no Terminate until its CopyBoth ends: the socket is closed instead.
    this.socket()?.destroy();
    await this.client.end().catch(() => {});
  }
}
