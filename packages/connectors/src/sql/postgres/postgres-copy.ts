import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { ENCODED_ROW, type EncodedRow, type LogicalType, type Row, type RowEncoding } from '@idra/core';
import { escapeTabSeparated, jsonValueText, tabSeparatedChunks } from '../tab-separated.ts';

/** One non-NULL value in PostgreSQL's COPY text format. */
function copyText(value: unknown, type: LogicalType | undefined): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  else if (typeof value === 'boolean') return value ? 't' : 'f';
  else if (value instanceof Uint8Array) return '\\\\x' + Buffer.from(value).toString('hex');
  else if (value instanceof Date) text = value.toISOString();
  else text = jsonValueText(value);
  if (type === 'bytes' && !text.startsWith('\\x')) text = '\\x' + Buffer.from(text).toString('hex');
  return escapeTabSeparated(text);
}

/** The binary COPY format's signature, then its flags and header extension length (both 0). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
/** The binary COPY format's trailer: a field count of -1. */
const TRAILER = Buffer.from([0xff, 0xff]);

/** A class of {@link EncodedTuple}s ({@link EncodedTuple.decoding}). */
type TupleClass = new (data: Buffer, start: number, end: number) => EncodedTuple;

/**
 * A row read encoded by {@link binaryRows}: where its fields lie in the output of its read. The view
 * of them ({@link ENCODED_ROW}) is made only when something asks for it: a batch written as it was
 * read (see {@link EncodedTuple.contiguous}) never does, so a row costs one small object. Private fields, so
 * that no column name can meet them; the decoded key and cursor columns are its own properties.
 */
class EncodedTuple {
  readonly #data: Buffer;
  readonly #start: number;
  readonly #end: number;

  constructor(data: Buffer, start: number, end: number) {
    this.#data = data;
    this.#start = start;
    this.#end = end;
  }

  get [ENCODED_ROW](): Uint8Array {
    return this.#data.subarray(this.#start, this.#end);
  }

  /**
   * A class of tuples that decode `fields` when asked, from where the row lies in its read: a read
   * decodes only its rows' keys and cursors, and most rows are never asked (a batch's position is its
   * last row's). Decoding every row's at the read was half the CPU of splitting the output. The
   * columns are getters of the class, seen by `in` and by property reads; a value set replaces its getter.
   */
  static decoding(fields: readonly StoredField[]): TupleClass {
    class Decoding extends EncodedTuple {}
    for (const { name, field, parse } of fields) {
      Object.defineProperty(Decoding.prototype, name, {
        enumerable: true,
        configurable: true,
        get(this: EncodedTuple) {
          const data = this.#data;
          let at = this.#start;
          for (let i = 0; i < field; i++) at += 4 + Math.max(0, data.readInt32BE(at));
          const length = data.readInt32BE(at);
          return length < 0 ? null : parse(data, at + 4, length);
        },
        set(this: EncodedTuple, value: unknown) {
          Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
        },
      });
    }
    return Decoding;
  }

  /**
   * The tuples of `rows` as one view of their read's output, when they lie there one after the other
   * with `fieldCount` fields each (a read that decoded no extra field, no row left out); undefined
   * otherwise. Extra fields would lie between two rows' fields, so only the first count is checked.
   */
  static contiguous(rows: readonly Row[], fieldCount: number): Buffer | undefined {
    const first = rows[0];
    if (!(first instanceof EncodedTuple) || first.#start < 2) return undefined;
    const data = first.#data;
    let end = first.#start - 2;
    // Indexed loops here and below: a for-of over every row of a batch allocated an iterator result per row.
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!(row instanceof EncodedTuple) || row.#data !== data || row.#start !== end + 2) return undefined;
      end = row.#end;
    }
    const tuples = data.subarray(first.#start - 2, end);
    return tuples.readInt16BE(0) === fieldCount ? tuples : undefined;
  }
}

/**
 * Encoded rows as binary COPY input: each row is its field count, then its fields as they were read.
 * Rows still lying one after the other where they were read are sent from there, without a copy;
 * others are copied into one buffer of the exact size.
 */
function binaryCopyData(rows: readonly Row[], fieldCount: number): Buffer[] {
  const tuples = EncodedTuple.contiguous(rows, fieldCount);
  if (tuples) return [HEADER, tuples, TRAILER];
  let size = HEADER.length + TRAILER.length;
  for (const row of rows) size += 2 + (row as EncodedRow)[ENCODED_ROW].length;
  const data = Buffer.allocUnsafe(size);
  HEADER.copy(data);
  let at = HEADER.length;
  for (const row of rows) {
    const fields = (row as EncodedRow)[ENCODED_ROW];
    at = data.writeInt16BE(fieldCount, at);
    data.set(fields, at);
    at += fields.length;
  }
  TRAILER.copy(data, at);
  return [data];
}

/**
 * Streams rows into `copy <target> (<columns>) from stdin` on a client (inside the caller's
 * transaction); rows read encoded go in binary format (the statement must say `(format binary)`).
 */
export async function copyInto(
  client: pg.PoolClient,
  copySql: string,
  rows: readonly Row[],
  columns: string[],
  types: Array<LogicalType | undefined>,
  encoding?: RowEncoding,
): Promise<void> {
  const stream = client.query(copyFrom(copySql));
  const chunks = encoding ? binaryCopyData(rows, encoding.columns.length) : tabSeparatedChunks(rows, columns, types, copyText);
  await pipeline(Readable.from(chunks), stream);
}

/** A column decoded from a field the read keeps encoded (`field`: its position among them), as a plain read would decode it. */
export interface StoredField {
  name: string;
  field: number;
  parse: (data: Buffer, at: number, length: number) => unknown;
}

/** A column decoded from an extra field in text form after the encoded ones. */
export interface TextField {
  name: string;
  parse: (text: string) => unknown;
}

/** How a read's rows are split ({@link binaryRows}): `stored` fields kept encoded, the columns decoded from them and from text fields after them. */
export interface EncodedLayout {
  stored: number;
  fromStored: StoredField[];
  extra: TextField[];
}

/** Backend message types met while a COPY's output comes (the protocol's `H`, `d`, `c`, `N`, `S`, `A`). */
const COPY_OUT_RESPONSE = 0x48;
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;
const COPY_OUT_MESSAGES = new Set([COPY_OUT_RESPONSE, COPY_DATA, COPY_DONE, 0x4e, 0x53, 0x41]);

/**
 * The output of `copy … to stdout` as one buffer: the CopyData messages' contents are copied once,
 * straight from the socket's reads (pg-copy-streams copies each message, then each read's messages,
 * and the caller joined them again). Like pg-copy-streams, it takes the socket's data from pg while
 * the COPY lasts and hands back everything from CopyDone (or an error) on, which pg reads as usual.
 */
class CopyOut implements pg.Submittable {
  /** The output, and how many CopyData messages brought it: the server sends each row in one (the first with the header), and the trailer in one. */
  readonly output: Promise<{ data: Buffer; messages: number }>;
  private readonly text: string;
  private data: Buffer;
  private length = 0;
  private messages = 0;
  private settle!: { resolve: (output: { data: Buffer; messages: number }) => void; reject: (err: unknown) => void };
  private stream: NodeJS.EventEmitter | undefined;
  private pgData: ((chunk: Buffer) => void) | undefined;
  /** The message being read: its type and length (5 header bytes), and how much of its content is still to come. */
  private readonly header = Buffer.alloc(5);
  private headerRead = 0;
  private left = 0;

  constructor(text: string, expectedBytes: number) {
    this.text = text;
    this.data = Buffer.allocUnsafe(expectedBytes);
    this.output = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(connection: pg.Connection): Error | undefined {
    const stream = (connection as unknown as { stream: NodeJS.EventEmitter }).stream;
    const listeners = stream.listeners('data');
    if (listeners.length !== 1) return new Error(`cannot read COPY output: the connection has ${listeners.length} data listeners, not pg's one`);
    this.stream = stream;
    this.pgData = listeners[0] as (chunk: Buffer) => void;
    stream.removeListener('data', this.pgData);
    stream.on('data', this.onData);
    connection.query(this.text);
    return undefined;
  }

  private readonly onData = (chunk: Buffer): void => {
    let at = 0;
    while (at < chunk.length) {
      if (this.headerRead === 0 && this.left === 0) {
        // A message starts: anything but COPY output (an error, CommandComplete) is pg's to read.
        if (!COPY_OUT_MESSAGES.has(chunk[at]!)) return this.handBack(chunk.subarray(at));
      }
      if (this.headerRead < 5 && this.left === 0) {
        const n = Math.min(5 - this.headerRead, chunk.length - at);
        chunk.copy(this.header, this.headerRead, at, at + n);
        this.headerRead += n;
        at += n;
        if (this.headerRead < 5) return;
        this.left = this.header.readUInt32BE(1) - 4;
        if (this.header[0] === COPY_DONE) return this.handBack(chunk.subarray(at));
        if (this.header[0] === COPY_DATA) this.messages++;
        if (this.left > 0) continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      if (this.header[0] === COPY_DATA) this.append(chunk, at, n);
      at += n;
      this.left -= n;
      if (this.left === 0) this.headerRead = 0;
    }
  };

  private append(chunk: Buffer, at: number, n: number): void {
    if (this.length + n > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.data.length, this.length + n));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    chunk.copy(this.data, this.length, at, at + n);
    this.length += n;
  }

  /** pg reads the connection again, from `rest` on. */
  private handBack(rest: Buffer): void {
    const { stream, pgData } = this;
    if (!stream || !pgData) return;
    this.stream = undefined;
    stream.removeListener('data', this.onData);
    stream.on('data', pgData);
    if (rest.length > 0) pgData(rest);
  }

  handleError(err: Error): void {
    this.handBack(Buffer.alloc(0));
    this.settle.reject(err);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.settle.resolve({ data: this.data.subarray(0, this.length), messages: this.messages });
  }
}

/**
 * Rows of `copy (<select>) to stdout (format binary)`: the fields of the first `stored` columns kept
 * encoded under ENCODED_ROW (as binary COPY input takes them), the columns of `fromStored` decoded
 * from their fields, and the `extra` columns after them (text) decoded into their names.
 * `expectedBytes` sizes the buffer the output is received into (it grows if need be).
 */
export async function copyOutRows(
  client: pg.ClientBase,
  copySql: string,
  expectedBytes: number,
  layout: EncodedLayout,
): Promise<{ rows: Row[]; bytes: number }> {
  const { data, messages } = await client.query(new CopyOut(copySql, expectedBytes)).output;
  return { rows: binaryRows(data, layout, messages - 1), bytes: data.length };
}

/** The tuple class of each list of decoded fields ({@link EncodedTuple.decoding}); a layout keeps its list between reads. */
const tupleClasses = new WeakMap<readonly StoredField[], TupleClass>();

/**
 * Splits binary COPY output into rows ({@link copyOutRows}); `fromStored` in the order of their fields.
 * `expectedRows` sizes the array (a row count the caller knows: the server's messages, one per row).
 */
export function binaryRows(data: Buffer, { stored, fromStored, extra }: EncodedLayout, expectedRows = 0): Row[] {
  if (data.length < HEADER.length || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('the server sent no binary COPY data');
  let at = HEADER.length + data.readUInt32BE(SIGNATURE.length + 4);
  let Tuple = tupleClasses.get(fromStored);
  if (!Tuple) tupleClasses.set(fromStored, (Tuple = EncodedTuple.decoding(fromStored)));
  // Made at its size: grown row by row, the array left twice its size in discarded copies per batch,
  // in the old generation once past 16,384 rows. The count is a hint: the rows are what the data holds.
  const rows: Row[] = expectedRows > 0 && expectedRows <= MAX_PRESIZED_ROWS ? new Array<Row>(expectedRows) : [];
  let r = 0;
  for (; data.readInt16BE(at) !== -1; r++) {
    at += 2;
    const start = at;
    for (let i = 0; i < stored; i++) {
      const length = data.readInt32BE(at);
      at += length > 0 ? 4 + length : 4;
    }
    const row = new Tuple(data, start, at) as unknown as EncodedRow;
    for (let e = 0; e < extra.length; e++) {
      const length = data.readInt32BE(at);
      at += 4;
      row[extra[e]!.name] = length < 0 ? null : extra[e]!.parse(data.toString('utf8', at, (at += length)));
    }
    if (r < rows.length) rows[r] = row;
    else rows.push(row);
  }
  rows.length = r;
  return rows;
}

/** V8 keeps an array made at a length up to this in its fast form; beyond, it would be a dictionary. */
const MAX_PRESIZED_ROWS = 100_000;
