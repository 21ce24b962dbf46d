/**
 * The messages of PostgreSQL's built-in logical decoding plugin `pgoutput` (protocol version 1) and of
 * the streaming replication protocol around them, decoded from and encoded to bytes. Values stay the
 * server's text: the caller parses them with the same type parsers as a query, so a change read from
 * the log and a row read by SELECT are the same values.
 */

/** A log sequence number: a byte position in the WAL. */
export type Lsn = bigint;

/** `16/B374D848` → the LSN. */
export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new TypeError(`not a log sequence number: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** The LSN as PostgreSQL writes it (`16/B374D848`). */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

/** A PostgreSQL timestamp (microseconds since 2000-01-01) as Unix milliseconds. */
function pgTimeMs(us: bigint): number {
  return Number((us + PG_EPOCH_US) / 1000n);
}

/** A column as a relation message describes it. */
export interface RelationColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  /** Part of the replica identity (the key sent with deletes and key-changing updates). */
  key: boolean;
}

/** One column value of a tuple: text, NULL, or a TOASTed value the update left unchanged (not sent). */
export type TupleValue = string | null | typeof UNCHANGED;
/** A TOASTed value an update did not change: the server does not send it. */
export const UNCHANGED: unique symbol = Symbol('unchanged toast value');

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTimeMs: number; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTimeMs: number }
  | { tag: 'relation'; relationId: number; schema: string; name: string; replicaIdentity: 'd' | 'n' | 'f' | 'i'; columns: RelationColumn[] }
  | { tag: 'insert'; relationId: number; row: TupleValue[] }
  /** `old` is the replica identity's columns ('K': key only, others null) or the whole old row ('O': identity FULL), when sent. */
  | { tag: 'update'; relationId: number; old: TupleValue[] | undefined; oldIsKey: boolean; row: TupleValue[] }
  | { tag: 'delete'; relationId: number; old: TupleValue[]; oldIsKey: boolean }
  | { tag: 'truncate'; relationIds: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'other'; kind: string };

/** Reads big-endian fields of one message in order. */
class Reader {
  private offset = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  byte(): number {
    return this.buf.readUInt8(this.offset++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  uint32(): number {
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new RangeError('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  rest(): Buffer {
    return this.buf.subarray(this.offset);
  }
}

function tuple(r: Reader): TupleValue[] {
  const n = r.int16();
  const values: TupleValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = String.fromCharCode(r.byte());
    if (kind === 'n') values[i] = null;
    else if (kind === 'u') values[i] = UNCHANGED;
    else if (kind === 't') values[i] = r.bytes(r.int32()).toString('utf8');
    else throw new RangeError(`pgoutput: tuple value of unknown kind '${kind}' (binary mode is not used)`);
  }
  return values;
}

/** Decodes one pgoutput message (the payload of an XLogData). */
export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.byte());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.int64(), commitTimeMs: pgTimeMs(r.int64()), xid: r.uint32() };
    case 'C': {
      r.byte(); // flags, unused
      return { tag: 'commit', commitLsn: r.int64(), endLsn: r.int64(), commitTimeMs: pgTimeMs(r.int64()) };
    }
    case 'R': {
      const relationId = r.uint32();
      const schema = r.cstring();
      const name = r.cstring();
      const replicaIdentity = String.fromCharCode(r.byte()) as 'd' | 'n' | 'f' | 'i';
      const n = r.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.byte();
        columns.push({ key: (flags & 1) === 1, name: r.cstring(), typeOid: r.uint32(), typeMod: r.int32() });
      }
      return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
    }
    case 'I': {
      const relationId = r.uint32();
      r.byte(); // 'N'
      return { tag: 'insert', relationId, row: tuple(r) };
    }
    case 'U': {
      const relationId = r.uint32();
      let kind = String.fromCharCode(r.byte());
      let old: TupleValue[] | undefined;
      const oldIsKey = kind === 'K';
      if (kind === 'K' || kind === 'O') {
        old = tuple(r);
        kind = String.fromCharCode(r.byte());
      }
      return { tag: 'update', relationId, old, oldIsKey, row: tuple(r) };
    }
    case 'D': {
      const relationId = r.uint32();
      const kind = String.fromCharCode(r.byte());
      return { tag: 'delete', relationId, oldIsKey: kind === 'K', old: tuple(r) };
    }
    case 'T': {
      const n = r.int32();
      const options = r.byte();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.uint32());
      return { tag: 'truncate', relationIds, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
    }
    default:
      // Origin ('O'), type ('Y') and logical messages ('M') carry nothing a sync applies.
      return { tag: 'other', kind: tag };
  }
}

/** A message of the replication stream (the CopyData payloads the walsender sends). */
export type ReplicationMessage =
  | { tag: 'xlog'; start: Lsn; walEnd: Lsn; message: Buffer }
  /** The server's position; `replyNow` asks for a status update at once (or the walsender times out). */
  | { tag: 'keepalive'; walEnd: Lsn; replyNow: boolean };

/** Decodes a CopyData payload of the replication stream. */
export function decodeReplication(buf: Buffer): ReplicationMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.byte());
  if (tag === 'w') {
    const start = r.int64();
    const walEnd = r.int64();
    r.int64(); // send time
    return { tag: 'xlog', start, walEnd, message: r.rest() };
  }
  if (tag === 'k') {
    const walEnd = r.int64();
    r.int64(); // send time
    return { tag: 'keepalive', walEnd, replyNow: r.byte() === 1 };
  }
  throw new RangeError(`replication stream: unknown message '${tag}'`);
}

/**
 * The standby status update: `written` is what was received, `flushed` what is safely applied (the
 * server may recycle the WAL before it and a restart resumes after it).
 */
export function standbyStatus(written: Lsn, flushed: Lsn, replyNow = false): Buffer {
  const buf = Buffer.alloc(34);
  buf.write('r', 0);
  buf.writeBigUInt64BE(written, 1);
  buf.writeBigUInt64BE(flushed, 9);
  buf.writeBigUInt64BE(flushed, 17);
  buf.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
  buf.writeUInt8(replyNow ? 1 : 0, 33);
  return buf;
}
