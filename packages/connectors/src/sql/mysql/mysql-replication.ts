import { EventEmitter } from 'node:events';
import mysql from 'mysql2/promise';
import type { Connection } from '@idra/core';
import { connectionOptions } from './mysql-driver.ts';
import { BinlogDecoder, type BinlogEvent } from './binlog-events.ts';

/** Asked of the server when the log is idle: a heartbeat event this often proves the connection alive. */
const HEARTBEAT_MS = 2_000;
/** Without any event or heartbeat for this long, the connection is taken for dead (a cut network answers nothing). */
const SILENCE_MS = 5 * HEARTBEAT_MS;
const COM_BINLOG_DUMP = 0x12;
/** MariaDB: the replica understands GTID events and annotations (`MARIA_SLAVE_CAPABILITY_MINE`). */
const MARIADB_CAPABILITY_GTID = 4;

/** Where a dump starts: after a MariaDB GTID position, or at a binlog file and offset. */
export type DumpStart = { gtid: string } | { file: string; position: number };

/** Receives the events of a started dump. */
export interface DumpHandler {
  /** One event, decoded, in log order. */
  event(event: BinlogEvent): void;
  /** The dump ended: the server closed it (an error, e.g. a position purged), the connection broke, or `close()` was called. */
  end(err: Error | undefined): void;
}

/** What mysql2 hands a command: one packet of the server (its payload at buffer[start + 4, end)). */
interface ServerPacket {
  buffer: Buffer;
  start: number;
  end: number;
  isError(): boolean;
  isEOF(): boolean;
  asError(encoding?: string): Error;
}

/** mysql2's connection under the promise wrapper, as far as a command of our own needs it. */
interface CoreConnection extends EventEmitter {
  addCommand(command: object): void;
  writePacket(packet: { length(): number; writeHeader(sequenceId: number): void; buffer: Buffer }): void;
  _resetSequenceId(): void;
  pause(): void;
  resume(): void;
  stream: NodeJS.EventEmitter & { destroy(err?: Error): void };
  clientEncoding?: string;
}

/**
 * One replication connection of mysql2: it logs in and sets the session up as any connection does,
 * then sends COM_BINLOG_DUMP and hands each event on. mysql2 does the protocol (authentication, TLS,
 * packets of any size); its own binlog command decodes only four kinds of events and drops the bytes
 * of the others, so the dump is a command of ours and the events are decoded by `binlog-events.ts`.
 */
export class BinlogConnection {
  private readonly conn: mysql.Connection;
  private watchdog: NodeJS.Timeout | undefined;
  private lastPacketAt = performance.now();

  private constructor(conn: mysql.Connection) {
    this.conn = conn;
  }

  /** Connects as the endpoint's user. */
  static async open(connection: Connection, options: Record<string, unknown> | undefined): Promise<BinlogConnection> {
    const conn = await mysql.createConnection(connectionOptions(connection, options) as mysql.ConnectionOptions);
    conn.on('error', () => {}); // the dump's end() reports it
    return new BinlogConnection(conn);
  }

  private get core(): CoreConnection {
    return (this.conn as unknown as { connection: CoreConnection }).connection;
  }

  /**
   * Streams the binlog from `from` as replica `serverId`. The server ends any other dump of the same
   * server id (a former owner of the sync that was killed, frozen or cut off), so one sync has one reader.
   */
  async start(from: DumpStart, serverId: number, handler: DumpHandler): Promise<void> {
    // Events carry the server's checksum (stripped by the decoder); MariaDB sends GTID events to a replica that says it knows them.
    const [rows] = await this.conn.query('SELECT @@global.binlog_checksum AS checksum');
    const decoder = new BinlogDecoder((rows as Array<{ checksum: string }>)[0]?.checksum !== 'NONE');
    await this.conn.query('SET @master_binlog_checksum = @@global.binlog_checksum');
    await this.conn.query(`SET @mariadb_slave_capability = ${MARIADB_CAPABILITY_GTID}`);
    await this.conn.query(`SET @master_heartbeat_period = ${HEARTBEAT_MS * 1_000_000}`);
    if ('gtid' in from) {
      // MariaDB starts the dump after this GTID position (whatever file holds it) when the dump names no file.
      await this.conn.query('SET @slave_connect_state = ?', [from.gtid]);
      await this.conn.query('SET @slave_gtid_strict_mode = 1');
    }
    const file = 'gtid' in from ? '' : from.file;
    const body = Buffer.alloc(11 + Buffer.byteLength(file, 'latin1'));
    body.writeUInt8(COM_BINLOG_DUMP, 0);
    body.writeUInt32LE('gtid' in from ? 4 : from.position, 1);
    body.writeUInt16LE(0, 5); // flags: block at the end of the log, waiting for more
    body.writeUInt32LE(serverId, 7);
    body.write(file, 11, 'latin1');
    const core = this.core;
    let ended = false;
    const end = (err: Error | undefined) => {
      if (ended) return;
      ended = true;
      clearInterval(this.watchdog);
      handler.end(err);
    };
    let first = true;
    const command = Object.assign(new EventEmitter(), {
      execute: (packet: ServerPacket | null, connection: CoreConnection): boolean => {
        if (first) {
          first = false;
          connection._resetSequenceId();
          connection.writePacket(rawPacket(body));
          return false;
        }
        this.lastPacketAt = performance.now();
        if (!packet) return false;
        if (packet.isError()) {
          end(packet.asError(connection.clientEncoding));
          return true;
        }
        if (packet.isEOF()) {
          end(new Error('the server ended the binlog dump'));
          return true;
        }
        try {
          // Each event packet starts with an OK byte (0x00).
          // A copy: values are views of the event, and mysql2 may reuse the bytes of a packet.
          handler.event(decoder.decode(Buffer.from(packet.buffer.subarray(packet.start + 5, packet.end))));
        } catch (err) {
          end(err as Error);
          core.stream.destroy();
          return true;
        }
        return false;
      },
    });
    core.once('end', () => end(new Error('the binlog connection was closed')));
    core.once('error', (err: Error) => end(err));
    this.watchdog = setInterval(() => {
      if (performance.now() - this.lastPacketAt > SILENCE_MS) {
        end(new Error(`no binlog event or heartbeat from the server for ${SILENCE_MS / 1000} s`));
        core.stream.destroy();
      }
    }, HEARTBEAT_MS);
    core.addCommand(command);
  }

  /** Stops reading from the server (backpressure) or resumes. */
  pause(paused: boolean): void {
    // The silence of a paused connection is ours, not the server's.
    this.lastPacketAt = paused ? Infinity : performance.now();
    if (paused) this.core.pause();
    else this.core.resume();
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    // A dumping server answers no COM_QUIT until its dump ends: the socket is closed instead.
    this.conn.destroy();
  }
}

/** A packet as mysql2 writes it: the 4-byte header (length, sequence id) first, then `body`. */
function rawPacket(body: Buffer): { length(): number; writeHeader(sequenceId: number): void; buffer: Buffer } {
  const buffer = Buffer.alloc(4 + body.length);
  body.copy(buffer, 4);
  return {
    buffer,
    length: () => buffer.length,
    writeHeader(sequenceId: number) {
      buffer.writeUIntLE(body.length, 0, 3);
      buffer.writeUInt8(sequenceId, 3);
    },
  };
}
