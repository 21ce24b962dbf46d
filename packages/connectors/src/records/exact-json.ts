import type { LogicalType } from '@idra/core';

/**
 * JSON without losing a digit. A JSON number that a double cannot hold exactly (an integer beyond
 * 2^53, a decimal with more than 15 significant digits) is kept as a raw JSON number
 * (`JSON.rawJSON`, Node ≥ 21): `JSON.stringify` writes it back exactly as it was read, so a
 * `json`/`jsonb` value crosses Idra unchanged whichever JSON-speaking store is on either side.
 */

/** A JSON number kept as its text (a frozen object `JSON.stringify` writes as that text). */
export interface RawJsonNumber {
  readonly rawJSON: string;
}

// TypeScript's lib does not describe JSON.rawJSON / JSON.isRawJSON yet.
const nativeJson = JSON as unknown as { rawJSON(text: string): RawJsonNumber; isRawJSON(value: unknown): boolean };

/** A raw JSON number; `text` must be a JSON number. */
export function rawJsonNumber(text: string): RawJsonNumber {
  return nativeJson.rawJSON(text);
}

/** True for a value made by {@link rawJsonNumber} (or by {@link parseJsonExact} for a number a double cannot hold); not {@link JSON_NULL}. */
export function isRawJsonNumber(value: unknown): value is RawJsonNumber {
  return nativeJson.isRawJSON(value) && value !== JSON_NULL;
}

/**
 * A JSON `null` that is a JSON column's whole value (`'null'::jsonb`), which SQL NULL is not: a raw JSON
 * value, so `JSON.stringify` writes `null` and every destination that writes JSON text stores the JSON
 * literal (a NOT NULL column takes it). Destinations that build their own values (MongoDB) map it to their null.
 */
export const JSON_NULL: { readonly rawJSON: 'null' } = nativeJson.rawJSON('null') as { readonly rawJSON: 'null' };

/**
 * The value of a JSON column's text ({@link parseJsonExact}); a top-level `null` is {@link JSON_NULL}, not SQL NULL.
 * A number is also kept as its text when `JSON.stringify` would spell it otherwise (`1.10`, `1.0`, `1e3`, `-0`):
 * a column's value is written back as the source holds it (PostgreSQL's json and jsonb, MariaDB's JSON keep the
 * spelling), not re-spelled as a double.
 */
export function parseJsonColumn(text: string): unknown {
  const value = parseJsonExact(text, undefined, true);
  return value === null ? JSON_NULL : value;
}

/**
 * A `json` column's value as the source holds it: PostgreSQL's `json` keeps its text as written
 * (spaces, key order, a key given twice). A store of JSON text takes {@link text} as it is (every SQL
 * destination); everything else sees the value it parses to ({@link parseJsonColumn}, numbers spelled
 * as written) — `JSON.stringify` writes that value, MongoDB stores it as a document.
 */
export class JsonText {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** The value the text parses to (a top-level `null` is {@link JSON_NULL}). */
  value(): unknown {
    return parseJsonColumn(this.text);
  }

  toJSON(): unknown {
    return this.value();
  }
}

const INTEGER = /^-?\d+$/;

/** True for the text of an integer a signed 64-bit column holds. */
export function isInt64Text(text: string): boolean {
  return INTEGER.test(text) && BigInt(text) >= -(2n ** 63n) && BigInt(text) < 2n ** 63n;
}

/** True when a JSON number's text is not exactly what the double `value` holds. */
function losesPrecision(source: string, value: number): boolean {
  if (INTEGER.test(source)) return !Number.isSafeInteger(value);
  const digits = source
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  return digits.length > 15;
}

/** True when the JSON number `text` is a double's exact value, however spelled (`1.10`, `1e3`): a store of doubles holds it as that double. */
export function isExactDouble(text: string): boolean {
  const value = Number(text);
  return Number.isFinite(value) && !losesPrecision(text, value);
}

/** The logical type a JSON number's text calls for: `int64` for integers that fit, `decimal` beyond, `float` for doubles that hold it exactly. */
export function jsonNumberType(source: string, value: number): LogicalType {
  if (INTEGER.test(source)) return Number.isSafeInteger(value) || isInt64Text(source) ? 'int64' : 'decimal';
  return losesPrecision(source, value) ? 'decimal' : 'float';
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/**
 * `JSON.parse` that keeps every number exact (see above). When `numberTypes` is given, it records,
 * for every object of the result, the type each number field's text calls for ({@link jsonNumberType}).
 */
export function parseJsonExact(text: string, numberTypes?: WeakMap<object, Map<string, LogicalType>>, keepSpelling = false): unknown {
  const reviver: Reviver = function (key, value, context) {
    if (typeof value !== 'number') return value;
    const source = context?.source ?? String(value);
    if (numberTypes && this !== null && typeof this === 'object' && !Array.isArray(this)) {
      let types = numberTypes.get(this);
      if (!types) numberTypes.set(this, (types = new Map()));
      types.set(key, jsonNumberType(source, value));
    }
    return losesPrecision(source, value) || (keepSpelling && JSON.stringify(value) !== source) ? rawJsonNumber(source) : value;
  };
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}
