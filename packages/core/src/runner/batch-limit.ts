import { ENCODED_ROW, type EncodedRow, type Row } from '../connector/types.ts';

/** Rows the first read of a run asks for at most: nothing is known yet of their size. */
const FIRST_READ_ROWS = 10;
/** A read asks for at most this many times the rows of the read before, so that rows growing wider cannot make a batch far larger than allowed. */
const GROWTH = 8;
/** Rows of a batch whose size is measured. */
const SAMPLED_ROWS = 16;

/** The bytes of one value, as read: text by its length, numbers by their width, JSON by its text. */
function valueBytes(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number' || typeof value === 'boolean') return 8;
  if (typeof value === 'bigint') return 16;
  if (value instanceof Uint8Array) return value.byteLength;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))?.length ?? 8;
}

/** The average bytes of the rows of a batch, measured on a sample spread over it. */
export function rowBytes(rows: readonly Row[]): number {
  const step = Math.max(1, rows.length / SAMPLED_ROWS);
  let bytes = 0;
  let sampled = 0;
  for (let i = 0; i < rows.length; i += step, sampled++) {
    const row = rows[Math.floor(i)]!;
    const encoded = (row as Partial<EncodedRow>)[ENCODED_ROW];
    if (encoded) bytes += encoded.byteLength;
    else for (const key in row) bytes += valueBytes(row[key]);
  }
  return sampled === 0 ? 0 : bytes / sampled;
}

/**
 * How many rows each read asks for: at most `batchSize`, and about `batchBytes` of row data judged
 * by the rows read last — memory stays bounded whatever the row width. A run starts small and
 * grows at most {@link GROWTH}-fold per read.
 */
export class BatchLimit {
  private readonly batchSize: number;
  private readonly batchBytes: number;
  private rows: number;

  constructor(batchSize: number, batchBytes: number) {
    this.batchSize = batchSize;
    this.batchBytes = batchBytes;
    this.rows = Math.min(batchSize, FIRST_READ_ROWS);
  }

  /** Rows the next read asks for. */
  get next(): number {
    return this.rows;
  }

  /** Learns the size of the rows of a batch just read. */
  observe(rows: readonly Row[]): void {
    if (rows.length === 0) return;
    const perRow = Math.max(1, rowBytes(rows));
    this.rows = Math.max(1, Math.min(this.batchSize, this.rows * GROWTH, Math.floor(this.batchBytes / perRow)));
  }
}
