import { describe, expect, it } from 'vitest';
import { JSON_NULL, parseJsonColumn } from '../records/exact-json.ts';
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
});
