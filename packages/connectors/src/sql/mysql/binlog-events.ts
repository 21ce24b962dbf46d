/**
 * The events of a MariaDB / MySQL binary log in row format, decoded from the bytes of a binlog dump
 * (the replication protocol's event stream). Row values come out raw — integers as the server stores
 * them (signed), strings and blobs as bytes, ENUM and SET as their numbers — and are given their
 * meaning by the table's columns (`mysql-cdc-source.ts`): the log itself does not say which integer
 * is unsigned, which bytes are text, or what an ENUM's members are, unless `binlog_row_metadata=FULL`.
 */

/** `Log_event_type` numbers of the events read (MariaDB's and MySQL's). */
export const EVENT = {
  QUERY: 2,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  TABLE_MAP: 19,
  WRITE_ROWS_V1: 23,
  UPDATE_ROWS_V1: 24,
  DELETE_ROWS_V1: 25,
  HEARTBEAT: 27,
  WRITE_ROWS_V2: 30,
  UPDATE_ROWS_V2: 31,
  DELETE_ROWS_V2: 32,
  MYSQL_GTID: 33,
  MYSQL_ANONYMOUS_GTID: 34,
  MYSQL_TRANSACTION_PAYLOAD: 40,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
  MARIADB_QUERY_COMPRESSED: 165,
  /** MariaDB's compressed rows events run from 166 (WRITE_ROWS_COMPRESSED) to 171 (DELETE_ROWS_COMPRESSED_V1). */
  MARIADB_ROWS_COMPRESSED_FIRST: 166,
  MARIADB_ROWS_COMPRESSED_LAST: 171,
} as const;

/** Column type codes of a TABLE_MAP (`enum_field_types`). */
export const TYPE = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** A value of a row image as the log holds it (see the module comment); null for SQL NULL. */
export type RawValue = number | bigint | string | Buffer | null;

/** A TABLE_MAP: the table a following rows event changes, and how its columns are stored. */
export interface TableMap {
  tableId: number;
  schema: string;
  table: string;
  /** Per column, its type code, with ENUM / SET / STRING told apart (the real type of a STRING column). */
  types: number[];
  /** Per column, its type's metadata (length bytes, precision and scale, fractional digits …). */
  meta: number[];
  /** Column names, when the server logs them (`binlog_row_metadata=FULL`). */
  names?: string[] | undefined;
  /** Which numeric columns are unsigned, by column index, when the server logs it (`binlog_row_metadata` MINIMAL or FULL). */
  unsigned?: Map<number, boolean> | undefined;
}

/** The common header of every event. */
export interface EventHeader {
  /** Seconds since the epoch when the statement began on the source. */
  timestamp: number;
  type: number;
  serverId: number;
  /** The position just after this event in its binlog file (0 for the artificial events of a dump's start). */
  logPos: number;
}

export type BinlogEvent = EventHeader &
  (
    | { kind: 'rotate'; file: string; position: number }
    | { kind: 'query'; schema: string; sql: string }
    | { kind: 'xid' }
    /** A MariaDB GTID: begins an event group; `standalone` groups (DDL) have no XID and end with their one statement. */
    | { kind: 'gtid'; domain: number; server: number; seq: bigint; standalone: boolean }
    /** The GTID state at the start of a binlog file (MariaDB). */
    | { kind: 'gtid-list'; gtids: Array<{ domain: number; server: number; seq: bigint }> }
    | { kind: 'table-map'; map: TableMap }
    | RowsEvent
    | { kind: 'heartbeat' }
    | { kind: 'other' }
  );

/** Rows inserted, updated (before and after images) or deleted in the table of `map`. */
export interface RowsEvent {
  kind: 'rows';
  change: 'insert' | 'update' | 'delete';
  map: TableMap;
  rows: Array<{ before?: RawValue[]; after?: RawValue[] }>;
}

const HEADER_LENGTH = 19;
/** FORMAT_DESCRIPTION's checksum algorithm byte: 0 none, 1 CRC32. */
const CHECKSUM_CRC32 = 1;
/** MariaDB GTID flags. */
const FL_STANDALONE = 1;
const FL_GROUP_COMMIT_ID = 2;
/** Optional metadata field types of a TABLE_MAP (`binlog_row_metadata`). */
const META_SIGNEDNESS = 1;
const META_COLUMN_NAME = 4;

/** A reader over one event's bytes. */
class Cursor {
  offset = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  u8 = () => this.buf.readUInt8(this.offset++);
  u16 = () => ((this.offset += 2), this.buf.readUInt16LE(this.offset - 2));
  u24 = () => ((this.offset += 3), this.buf.readUIntLE(this.offset - 3, 3));
  u32 = () => ((this.offset += 4), this.buf.readUInt32LE(this.offset - 4));
  u48 = () => ((this.offset += 6), this.buf.readUIntLE(this.offset - 6, 6));
  u64 = () => ((this.offset += 8), this.buf.readBigUInt64LE(this.offset - 8));
  /** A little-endian unsigned integer of `n` bytes (1 to 4). */
  uint(n: number): number {
    this.offset += n;
    return this.buf.readUIntLE(this.offset - n, n);
  }
  bytes(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw new Error(`binlog event truncated: ${n} bytes wanted at ${this.offset} of ${this.buf.length}`);
    this.offset += n;
    return this.buf.subarray(this.offset - n, this.offset);
  }
  /** A length-encoded integer of the protocol. */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    return Number(this.u64());
  }
  get left(): number {
    return this.buf.length - this.offset;
  }
}

/**
 * Decodes the events of one dump, in order: it keeps what the stream has told it so far (whether
 * events carry a checksum, the TABLE_MAPs in force).
 */
export class BinlogDecoder {
  /** Whether events end with a CRC32 (the server's binlog_checksum): the events before the FORMAT_DESCRIPTION do too. */
  private checksum: boolean;
  private readonly maps = new Map<number, TableMap>();

  constructor(checksum: boolean) {
    this.checksum = checksum;
  }

  /** One event: its header (19 bytes) and body. */
  decode(event: Buffer): BinlogEvent {
    const header: EventHeader = {
      timestamp: event.readUInt32LE(0),
      type: event.readUInt8(4),
      serverId: event.readUInt32LE(5),
      logPos: event.readUInt32LE(13),
    };
    if (header.type === EVENT.FORMAT_DESCRIPTION) {
      // Its last 5 bytes: the checksum algorithm, and the event's own checksum.
      this.checksum = event.readUInt8(event.length - 5) === CHECKSUM_CRC32;
      return { ...header, kind: 'other' };
    }
    const c = new Cursor(event.subarray(HEADER_LENGTH, this.checksum ? event.length - 4 : event.length));
    switch (header.type) {
      case EVENT.ROTATE: {
        const position = Number(c.u64());
        return { ...header, kind: 'rotate', position, file: c.bytes(c.left).toString('latin1') };
      }
      case EVENT.QUERY: {
        c.u32(); // thread id
        c.u32(); // execution time
        const schemaLength = c.u8();
        c.u16(); // error code
        const statusLength = c.u16();
        c.bytes(statusLength);
        const schema = c.bytes(schemaLength).toString('utf8');
        c.u8();
        return { ...header, kind: 'query', schema, sql: c.bytes(c.left).toString('utf8') };
      }
      case EVENT.XID:
        return { ...header, kind: 'xid' };
      case EVENT.MARIADB_GTID: {
        const seq = c.u64();
        const domain = c.u32();
        const flags = c.u8();
        if (flags & FL_GROUP_COMMIT_ID) c.u64();
        return { ...header, kind: 'gtid', domain, server: header.serverId, seq, standalone: (flags & FL_STANDALONE) !== 0 };
      }
      case EVENT.MARIADB_GTID_LIST: {
        const count = c.u32() & 0x0fffffff;
        const gtids = [];
        for (let i = 0; i < count; i++) gtids.push({ domain: c.u32(), server: c.u32(), seq: c.u64() });
        return { ...header, kind: 'gtid-list', gtids };
      }
      case EVENT.TABLE_MAP: {
        const map = readTableMap(c);
        this.maps.set(map.tableId, map);
        return { ...header, kind: 'table-map', map };
      }
      case EVENT.WRITE_ROWS_V1:
      case EVENT.WRITE_ROWS_V2:
        return { ...header, ...this.readRows(c, 'insert', header.type >= EVENT.WRITE_ROWS_V2) };
      case EVENT.UPDATE_ROWS_V1:
      case EVENT.UPDATE_ROWS_V2:
        return { ...header, ...this.readRows(c, 'update', header.type >= EVENT.WRITE_ROWS_V2) };
      case EVENT.DELETE_ROWS_V1:
      case EVENT.DELETE_ROWS_V2:
        return { ...header, ...this.readRows(c, 'delete', header.type >= EVENT.WRITE_ROWS_V2) };
      case EVENT.HEARTBEAT:
        return { ...header, kind: 'heartbeat' };
      default:
        if (
          header.type === EVENT.MYSQL_TRANSACTION_PAYLOAD ||
          header.type === EVENT.MARIADB_QUERY_COMPRESSED ||
          (header.type >= EVENT.MARIADB_ROWS_COMPRESSED_FIRST && header.type <= EVENT.MARIADB_ROWS_COMPRESSED_LAST)
        ) {
          throw new Error(
            `the binlog holds compressed events (type ${header.type}), which Idra does not read: turn off log_bin_compress (MariaDB) / binlog_transaction_compression (MySQL)`,
          );
        }
        return { ...header, kind: 'other' };
    }
  }

  private readRows(c: Cursor, change: RowsEvent['change'], v2: boolean): RowsEvent {
    const tableId = c.u48();
    c.u16(); // flags
    if (v2) c.bytes(c.u16() - 2); // extra data
    const count = c.lenenc();
    const map = this.maps.get(tableId);
    if (!map) throw new Error(`binlog rows event for table id ${tableId} without its TABLE_MAP`);
    const present = c.bytes((count + 7) >> 3);
    const presentAfter = change === 'update' ? c.bytes((count + 7) >> 3) : present;
    const rows: Array<{ before?: RawValue[]; after?: RawValue[] }> = [];
    while (c.left > 0) {
      if (change === 'insert') rows.push({ after: readImage(c, map, count, present) });
      else if (change === 'delete') rows.push({ before: readImage(c, map, count, present) });
      else rows.push({ before: readImage(c, map, count, present), after: readImage(c, map, count, presentAfter) });
    }
    return { kind: 'rows', change, map, rows };
  }
}

const bit = (bitmap: Buffer, i: number) => (bitmap[i >> 3]! & (1 << (i & 7))) !== 0;

function readTableMap(c: Cursor): TableMap {
  const tableId = c.u48();
  c.u16(); // flags
  const schema = c.bytes(c.u8()).toString('utf8');
  c.u8();
  const table = c.bytes(c.u8()).toString('utf8');
  c.u8();
  const count = c.lenenc();
  const types = [...c.bytes(count)];
  const metaEnd = c.lenenc() + c.offset;
  const meta = types.map((type, i) => {
    switch (type) {
      case TYPE.FLOAT:
      case TYPE.DOUBLE:
      case TYPE.BLOB:
      case TYPE.GEOMETRY:
      case TYPE.JSON:
      case TYPE.TIMESTAMP2:
      case TYPE.DATETIME2:
      case TYPE.TIME2:
        return c.u8();
      case TYPE.VARCHAR:
      case TYPE.VAR_STRING:
        return c.u16();
      case TYPE.BIT:
      case TYPE.NEWDECIMAL:
        // Two bytes, high byte first: (bits % 8, whole bytes) and (precision, scale).
        return (c.u8() << 8) | c.u8();
      case TYPE.STRING:
      case TYPE.ENUM:
      case TYPE.SET: {
        // The real type and the length, which borrows two bits of the type byte above 255.
        const real = c.u8();
        const low = c.u8();
        if ((real & 0x30) !== 0x30) {
          types[i] = real | 0x30;
          return low | (((real & 0x30) ^ 0x30) << 4);
        }
        types[i] = real;
        return low;
      }
      default:
        return 0;
    }
  });
  c.offset = metaEnd;
  c.bytes((count + 7) >> 3); // nullable columns
  const map: TableMap = { tableId, schema, table, types, meta };
  // Optional metadata: type, length, value, to the end of the event.
  while (c.left > 0) {
    const field = c.u8();
    const value = new Cursor(c.bytes(c.lenenc()));
    if (field === META_COLUMN_NAME) {
      map.names = [];
      while (value.left > 0) map.names.push(value.bytes(value.lenenc()).toString('utf8'));
    } else if (field === META_SIGNEDNESS) {
      // One bit per numeric column, in column order, most significant bit first.
      const bits = value.bytes(value.left);
      map.unsigned = new Map();
      let n = 0;
      types.forEach((type, i) => {
        if (!isNumeric(type)) return;
        map.unsigned!.set(i, (bits[n >> 3]! & (0x80 >> (n & 7))) !== 0);
        n++;
      });
    }
  }
  return map;
}

function isNumeric(type: number): boolean {
  return (
    type === TYPE.TINY ||
    type === TYPE.SHORT ||
    type === TYPE.INT24 ||
    type === TYPE.LONG ||
    type === TYPE.LONGLONG ||
    type === TYPE.FLOAT ||
    type === TYPE.DOUBLE ||
    type === TYPE.NEWDECIMAL ||
    type === TYPE.DECIMAL
  );
}

/** One row image: values of the columns `present` marks, undefined for the others. */
function readImage(c: Cursor, map: TableMap, count: number, present: Buffer): RawValue[] {
  let presentCount = 0;
  for (let i = 0; i < count; i++) if (bit(present, i)) presentCount++;
  const nulls = c.bytes((presentCount + 7) >> 3);
  const values: RawValue[] = new Array<RawValue>(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (!bit(present, i)) continue;
    values[i] = bit(nulls, n++) ? null : readValue(c, map.types[i]!, map.meta[i]!);
  }
  return values;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `.ffffff` cut to `fsp` digits (none when 0): how the server prints fractional seconds. */
function fraction(micros: number, fsp: number): string {
  return fsp === 0 ? '' : `.${pad(micros, 6).slice(0, fsp)}`;
}

/** The fractional seconds that follow a temporal value of precision `fsp`, in microseconds. */
function readFraction(c: Cursor, fsp: number): number {
  const bytes = (fsp + 1) >> 1;
  if (bytes === 0) return 0;
  const v = c.buf.readUIntBE(c.offset, bytes);
  c.offset += bytes;
  return v * 100 ** (3 - bytes);
}

function readValue(c: Cursor, type: number, meta: number): RawValue {
  switch (type) {
    case TYPE.TINY:
      return c.buf.readInt8(c.offset++);
    case TYPE.SHORT:
      return ((c.offset += 2), c.buf.readInt16LE(c.offset - 2));
    case TYPE.INT24:
      return ((c.offset += 3), c.buf.readIntLE(c.offset - 3, 3));
    case TYPE.LONG:
      return ((c.offset += 4), c.buf.readInt32LE(c.offset - 4));
    case TYPE.LONGLONG:
      return ((c.offset += 8), c.buf.readBigInt64LE(c.offset - 8));
    case TYPE.FLOAT:
      return ((c.offset += 4), c.buf.readFloatLE(c.offset - 4));
    case TYPE.DOUBLE:
      return ((c.offset += 8), c.buf.readDoubleLE(c.offset - 8));
    case TYPE.YEAR: {
      const y = c.u8();
      return y === 0 ? 0 : 1900 + y;
    }
    case TYPE.NEWDECIMAL:
      return readDecimal(c, meta >> 8, meta & 0xff);
    case TYPE.DATE: {
      const v = c.u24();
      return `${pad(v >> 9, 4)}-${pad((v >> 5) & 15)}-${pad(v & 31)}`;
    }
    case TYPE.DATETIME2: {
      // 1 sign bit, 17 bits year*13+month, 5 day, 5 hour, 6 minute, 6 second; big-endian.
      const packed = c.buf.readUIntBE(c.offset, 5) - 0x8000000000;
      c.offset += 5;
      const micros = readFraction(c, meta);
      const ymd = Math.floor(packed / 2 ** 17);
      const ym = ymd >> 5;
      const hms = packed % 2 ** 17;
      const date = `${pad(Math.floor(ym / 13), 4)}-${pad(ym % 13)}-${pad(ymd & 31)}`;
      return `${date} ${pad(hms >> 12)}:${pad((hms >> 6) & 63)}:${pad(hms & 63)}${fraction(micros, meta)}`;
    }
    case TYPE.TIMESTAMP2: {
      const seconds = c.buf.readUInt32BE(c.offset);
      c.offset += 4;
      const micros = readFraction(c, meta);
      if (seconds === 0 && micros === 0) return `0000-00-00 00:00:00${fraction(0, meta)}`;
      const iso = new Date(seconds * 1000).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction(micros, meta)}`;
    }
    case TYPE.TIME2:
      return readTime2(c, meta);
    case TYPE.DATETIME: {
      // Pre-5.6 format: the decimal digits YYYYMMDDhhmmss in 8 bytes.
      const v = c.u64().toString().padStart(14, '0');
      return `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)} ${v.slice(8, 10)}:${v.slice(10, 12)}:${v.slice(12, 14)}`;
    }
    case TYPE.TIMESTAMP: {
      const iso = new Date(c.u32() * 1000).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    }
    case TYPE.TIME: {
      const v = ((c.offset += 3), c.buf.readIntLE(c.offset - 3, 3));
      const abs = Math.abs(v);
      return `${v < 0 ? '-' : ''}${pad(Math.floor(abs / 10000))}:${pad(Math.floor(abs / 100) % 100)}:${pad(abs % 100)}`;
    }
    case TYPE.VARCHAR:
    case TYPE.VAR_STRING:
      return c.bytes(meta < 256 ? c.u8() : c.u16());
    case TYPE.STRING:
      return c.bytes(meta < 256 ? c.u8() : c.u16());
    case TYPE.ENUM:
      return c.uint(meta);
    case TYPE.SET:
      return meta > 4 ? c.buf.readBigUInt64LE(((c.offset += 8), c.offset - 8)) : BigInt(c.uint(meta));
    case TYPE.BIT:
      return c.bytes((meta & 0xff) + (meta >> 8 > 0 ? 1 : 0));
    case TYPE.JSON:
      throw new Error("MySQL's JSON columns are stored in the binlog in a binary form that Idra does not decode yet (MariaDB's JSON is text, and is read)");
    case TYPE.BLOB:
    case TYPE.GEOMETRY:
    case TYPE.TINY_BLOB:
    case TYPE.MEDIUM_BLOB:
    case TYPE.LONG_BLOB:
      return c.bytes(c.uint(meta));
    default:
      throw new Error(`binlog column type ${type} is not supported`);
  }
}

function readTime2(c: Cursor, fsp: number): string {
  // 1 sign bit, 1 unused, 10 bits hour, 6 minute, 6 second, then the fraction; offset to read as unsigned.
  const bytes = (fsp + 1) >> 1;
  let whole: number;
  let micros: number;
  if (bytes === 3) {
    // Hours to microseconds in one 6-byte integer.
    const packed = c.buf.readUIntBE(c.offset, 6) - 0x800000000000;
    whole = Math.trunc(packed / 2 ** 24);
    micros = packed - whole * 2 ** 24;
  } else {
    whole = c.buf.readUIntBE(c.offset, 3) - 0x800000;
    let frac = bytes === 0 ? 0 : c.buf.readUIntBE(c.offset + 3, bytes);
    if (whole < 0 && frac !== 0) {
      // A negative time with a fraction: the seconds were rounded down, the fraction counts up from there.
      whole++;
      frac -= 256 ** bytes;
    }
    micros = frac * 100 ** (3 - bytes);
  }
  c.offset += 3 + bytes;
  const abs = Math.abs(whole);
  const sign = whole < 0 || micros < 0 ? '-' : '';
  return `${sign}${pad((abs >> 12) & 0x3ff)}:${pad((abs >> 6) & 63)}:${pad(abs & 63)}${fraction(Math.abs(micros), fsp)}`;
}

/** Bytes of a DECIMAL group of 0 to 9 digits. */
const DIGIT_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/**
 * A DECIMAL(precision, scale) in MySQL's binary form: digits in groups of 9 per 4 bytes (big-endian),
 * the partial groups at the outer ends; the first bit flipped to mark the sign, negatives inverted.
 */
function readDecimal(c: Cursor, precision: number, scale: number): string {
  const intDigits = precision - scale;
  const size = Math.floor(intDigits / 9) * 4 + DIGIT_BYTES[intDigits % 9]! + Math.floor(scale / 9) * 4 + DIGIT_BYTES[scale % 9]!;
  const buf = Buffer.from(c.bytes(size));
  const negative = (buf[0]! & 0x80) === 0;
  buf[0]! ^= 0x80;
  if (negative) for (let i = 0; i < buf.length; i++) buf[i] = ~buf[i]! & 0xff;
  let at = 0;
  const group = (digits: number) => {
    const n = DIGIT_BYTES[digits]!;
    const v = n === 0 ? 0 : buf.readUIntBE(at, n);
    at += n;
    return String(v).padStart(digits, '0');
  };
  let int = group(intDigits % 9);
  for (let i = 0; i < Math.floor(intDigits / 9); i++) int += group(9);
  let frac = '';
  for (let i = 0; i < Math.floor(scale / 9); i++) frac += group(9);
  frac += group(scale % 9);
  int = int.replace(/^0+(?=\d)/, '') || '0';
  return `${negative ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}
