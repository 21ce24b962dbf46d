import { describe, expect, it } from 'vitest';
import { JSON_NULL, JsonText, parseJsonColumn } from '../records/exact-json.ts';
import { rowToDocument } from './mongodb-values.ts';

describe('values written to MongoDB', () => {
  const config = { decimalAs: 'decimal128' as const, timestampAs: 'date' as const, objectIdFields: [] };

  it("a JSON column's JSON null becomes BSON null, its other values documents, as before", () => {
    const columns = [
      { name: 'id', type: 'int64' as const },
      { name: 'doc', type: 'json' as const },
    ];
    expect(parseJsonColumn(' null ')).toBe(JSON_NULL);
    expect(JSON.stringify({ doc: parseJsonColumn('null') })).toBe('{"doc":null}');
    expect(rowToDocument({ id: '1', doc: parseJsonColumn('null') }, columns, config).doc).toBeNull();
    expect(rowToDocument({ id: '2', doc: parseJsonColumn('{"a":[1,null]}') }, columns, config).doc).toEqual({ a: [1, null] });
  });

  it("a JSON column's number kept for its spelling is the double it spells; one a double cannot hold is a Decimal128 or a Long", () => {
    const columns = [{ name: 'doc', type: 'json' as const }];
    const doc = rowToDocument({ doc: parseJsonColumn('{"a":1.10,"b":1e3,"c":0.123456789012345678,"d":12345678901234567890}') }, columns, config).doc as Record<
      string,
      unknown
    >;
    expect(doc.a).toBe(1.1);
    expect(doc.b).toBe(1000);
    expect(String(doc.c)).toBe('0.123456789012345678');
    expect(String(doc.d)).toBe('12345678901234567890');
    // A PostgreSQL json column's text: the document it parses to.
    expect(rowToDocument({ doc: new JsonText('{ "a" : [1.10, null] }') }, columns, config).doc).toEqual({ a: [1.1, null] });
    expect(rowToDocument({ doc: new JsonText('null') }, columns, config).doc).toBeNull();
  });
});
