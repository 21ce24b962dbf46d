import { ENCODED_ROW, type EncodedRow, type Row } from '@idra/core';
import { JsonText, parseJsonColumn } from '../../records/exact-json.ts';

/**
 * Values of PostgreSQL's binary format, decoded into the canonical row form — only where a row read
 * encoded must be shown (a dead letter): the rows themselves pass through encoded. A type without a
 * decoder here shows as the hex of its binary form (`\x…`), which loses nothing.
 */

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
const pad = (n: number | bigint, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of a day count since 2000-01-01 (BC years as PostgreSQL prints them). */
function dateText(days: number): string {
  if (days === 0x7fffffff) return 'infinity';
  if (days === -0x80000000) return '-infinity';
  const d = new Date(EPOCH_2000_MS + days * 86_400_000);
  const year = d.getUTCFullYear();
  const text = `${pad(year <= 0 ? 1 - year : year, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return year <= 0 ? `${text} BC` : text;
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` of microseconds since 2000-01-01 (UTC for timestamptz, as the driver reads it). */
function timestampText(micros: bigint): string {
  if (micros === 0x7fffffffffffffffn) return 'infinity';
  if (micros === -0x8000000000000000n) return '-infinity';
  const perDay = 86_400_000_000n;
  let days = micros / perDay;
  let rest = micros % perDay;
  if (rest < 0n) {
    rest += perDay;
    days -= 1n;
  }
  const fraction = rest % 1_000_000n;
  const seconds = Number(rest / 1_000_000n);
  const time = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  const date = dateText(Number(days));
  const text = `${date.replace(/ BC$/, '')} ${time}${fraction ? '.' + pad(fraction, 6).replace(/0+$/, '') : ''}`;
  return date.endsWith(' BC') ? `${text} BC` : text;
}

/** A numeric's decimal text: base-10000 digits, a weight (position of the first digit group), a sign and a display scale. */
function numericText(b: Buffer): string {
  const count = b.readUInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const scale = b.readUInt16BE(6);
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  const groups = Array.from({ length: count }, (_, i) => b.readUInt16BE(8 + 2 * i));
  let whole = '';
  for (let i = 0; i <= weight; i++) whole += i === 0 ? String(groups[i] ?? 0) : pad(groups[i] ?? 0, 4);
  let fraction = '';
  for (let i = weight + 1; fraction.length < scale; i++) fraction += i < 0 ? '0000' : pad(groups[i] ?? 0, 4);
  const text = (whole || '0') + (scale > 0 ? '.' + fraction.slice(0, scale) : '');
  return sign === 0x4000 ? '-' + text : text;
}

function uuidText(b: Buffer): string {
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A bigint's decimal text; without a BigInt while it fits a double exactly. */
function int8Text(b: Buffer, at: number): string {
  const high = b.readInt32BE(at);
  return high >= -0x200000 && high < 0x200000 ? String(high * 0x1_0000_0000 + b.readUInt32BE(at + 4)) : b.readBigInt64BE(at).toString();
}

/**
 * Fields decoded into exactly the values pg's text parsers give for the same types (the canonical
 * row form of a plain read): the keys and cursors of rows read encoded need no second, text copy.
 */
export const FIELD_PARSERS: Record<string, (data: Buffer, at: number, length: number) => unknown> = {
  16: (b, at) => b[at] === 1,
  20: int8Text,
  21: (b, at) => b.readInt16BE(at),
  23: (b, at) => b.readInt32BE(at),
  25: (b, at, length) => b.toString('utf8', at, at + length),
  1042: (b, at, length) => b.toString('utf8', at, at + length),
  1043: (b, at, length) => b.toString('utf8', at, at + length),
  2950: (b, at, length) => uuidText(b.subarray(at, at + length)),
};

const DECODERS: Record<string, (b: Buffer) => unknown> = {
  16: (b) => b[0] === 1,
  20: (b) => int8Text(b, 0),
  21: (b) => b.readInt16BE(0),
  23: (b) => b.readInt32BE(0),
  26: (b) => String(b.readUInt32BE(0)),
  700: (b) => b.readFloatBE(0),
  701: (b) => b.readDoubleBE(0),
  1700: numericText,
  25: (b) => b.toString('utf8'),
  1042: (b) => b.toString('utf8'),
  1043: (b) => b.toString('utf8'),
  19: (b) => b.toString('utf8'),
  114: (b) => new JsonText(b.toString('utf8')),
  // jsonb: a version byte, then the text.
  3802: (b) => parseJsonColumn(b.toString('utf8', 1)),
  17: (b) => Buffer.from(b),
  2950: uuidText,
  1082: (b) => dateText(b.readInt32BE(0)),
  1114: (b) => timestampText(b.readBigInt64BE(0)),
  1184: (b) => timestampText(b.readBigInt64BE(0)),
};

/** The values of an encoded row (fields of the types `natives`, in the order of `names`), decoded for people to read. */
export function decodeBinaryRow(row: EncodedRow, names: string[], natives: string[]): Row {
  const fields = Buffer.from(row[ENCODED_ROW].buffer, row[ENCODED_ROW].byteOffset, row[ENCODED_ROW].byteLength);
  const out: Row = {};
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    const length = fields.readInt32BE(at);
    at += 4;
    if (length < 0) {
      out[names[i]!] = null;
      continue;
    }
    const value = fields.subarray(at, (at += length));
    const decode = DECODERS[natives[i]!];
    out[names[i]!] = decode ? decode(value) : '\\x' + value.toString('hex');
  }
  return out;
}
