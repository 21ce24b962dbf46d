import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ENCODED_ROW, type EncodedRow } from '@idra/core';
import { createTestDb, type TestDb } from '../../testing/fixtures.ts';
import { binaryRows, copyOutRows } from './postgres-copy.ts';
import { FIELD_PARSERS } from './postgres-binary.ts';

describe('binary COPY output received straight from the socket', () => {
  let db: TestDb;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDb('postgres');
    client = new pg.Client(db.connection.url);
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const layout = { stored: 2, fromStored: [{ name: 'id', field: 0, parse: FIELD_PARSERS['20']! }], extra: [] };

  it('reads every row of an output many times the size of the buffer it starts with, over many socket reads', async () => {
    const copy = `copy (select i::bigint, repeat('x', i % 300) from generate_series(1, 20000) i) to stdout (format binary)`;
    const { rows, bytes } = await copyOutRows(client as unknown as pg.PoolClient, copy, 16, layout);
    expect(rows).toHaveLength(20_000);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 20_000 }, (_, i) => String(i + 1)));
    // Each row keeps its two fields encoded: an 8-byte bigint, then the text of i % 300 bytes.
    const last = (rows[19_999] as EncodedRow)[ENCODED_ROW];
    expect(last.byteLength).toBe(4 + 8 + 4 + (20_000 % 300));
    expect(bytes).toBeGreaterThan(20_000 * 16);
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('a COPY the server ends with an error part way fails with that error, and the connection stays usable', async () => {
    const copy = `copy (select i::bigint, 'x' from generate_series(1, 100000) i where 1 / (i - 50000) is not null) to stdout (format binary)`;
    await expect(copyOutRows(client as unknown as pg.PoolClient, copy, 16, layout)).rejects.toThrow(/division by zero/);
    expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
  });

  it('bigints at both ends of their range and NULL keys come out as a plain read gives them', async () => {
    const copy = `copy (select v, null::text from unnest(array[-9223372036854775808, -9007199254740993, -1, 0, 9007199254740993, 9223372036854775807, null]::bigint[]) v) to stdout (format binary)`;
    const { rows } = await copyOutRows(client as unknown as pg.PoolClient, copy, 16, layout);
    expect(rows.map((r) => r.id)).toEqual(['-9223372036854775808', '-9007199254740993', '-1', '0', '9007199254740993', '9223372036854775807', null]);
  });

  it('decodes a key when asked, from the field where it lies; a value set on the row replaces it', async () => {
    const copy = `copy (select 'a' || i, i::bigint from generate_series(1, 3) i) to stdout (format binary)`;
    const { rows } = await copyOutRows(client as unknown as pg.PoolClient, copy, 16, {
      stored: 2,
      fromStored: [{ name: 'id', field: 1, parse: FIELD_PARSERS['20']! }],
      extra: [],
    });
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3']);
    expect('id' in rows[0]!).toBe(true);
    rows[0]!.id = 'replaced';
    expect([rows[0]!.id, rows[1]!.id]).toEqual(['replaced', '2']);
  });
});

describe('binary COPY data split into rows', () => {
  // Three rows of one bigint field each, the third NULL, as `copy … to stdout (format binary)` writes them.
  const data = Buffer.concat([
    Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
    Buffer.alloc(8),
    ...[1n, 2n].map((v) => {
      const row = Buffer.alloc(14);
      row.writeInt16BE(1, 0);
      row.writeInt32BE(8, 2);
      row.writeBigInt64BE(v, 6);
      return row;
    }),
    Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0xff, 0xff]),
  ]);
  const layout = { stored: 1, fromStored: [{ name: 'id', field: 0, parse: FIELD_PARSERS['20']! }], extra: [] };

  it('gives the rows the data holds whatever row count it was told to expect', () => {
    for (const expected of [0, 1, 3, 10, 1_000_000]) {
      const rows = binaryRows(data, layout, expected);
      expect(rows.map((r) => r.id)).toEqual(['1', '2', null]);
      expect(rows.map((r) => (r as EncodedRow)[ENCODED_ROW].byteLength)).toEqual([12, 12, 4]);
    }
  });
});
