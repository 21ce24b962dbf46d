import { describe, expect, it } from 'vitest';
import type { CompiledQuery } from 'kysely';
import { normalizeSync, validateSyncConfig, type Column } from '@idra/core';
import { SQL_DIALECTS } from './index.ts';
import { createTableStatement, rowsPerStatement, writeStatement } from './sql-destination.ts';
import { SqlSource } from './sql-source.ts';
import { keysetAfter } from './sql-keys.ts';
import { selectFromEndpoint } from './table-ref.ts';
import type { SqlPool } from './dialect.ts';

// SQL Server cannot run on this machine (no package ships a TDS server), so its dialect is checked
// here at the statement level only, side by side with the dialects whose statements also run for real
// in sql-contract.test.ts.

const columns = ['id', 'name', 'amount'];
const rows = [
  [1, 'a', '1.5'],
  [2, 'b', '2.5'],
];

function upsert(name: keyof typeof SQL_DIALECTS, mode: 'insert' | 'upsert') {
  return writeStatement(SQL_DIALECTS[name], { schema: undefined, table: 'orders' }, columns, rows, mode, ['id']);
}

describe('write statements per dialect (statement shapes; SQL Server has no server here)', () => {
  it.each([
    [
      'postgres',
      'insert into "orders" ("id", "name", "amount") values ($1, $2, $3), ($4, $5, $6) on conflict ("id") do update set "name" = "excluded"."name", "amount" = "excluded"."amount"',
    ],
    [
      'sqlite',
      'insert into "orders" ("id", "name", "amount") values (?, ?, ?), (?, ?, ?) on conflict ("id") do update set "name" = "excluded"."name", "amount" = "excluded"."amount"',
    ],
    [
      'mysql',
      'insert into `orders` (`id`, `name`, `amount`) values (?, ?, ?), (?, ?, ?) on duplicate key update `name` = values(`name`), `amount` = values(`amount`)',
    ],
    [
      'mssql',
      'merge into "orders" with (holdlock) as t using (values (@1, @2, @3), (@4, @5, @6)) as s ("id", "name", "amount") on t."id" = s."id" when matched then update set t."name" = s."name", t."amount" = s."amount" when not matched then insert ("id", "name", "amount") values (s."id", s."name", s."amount");',
    ],
  ] as const)('%s upsert', (name, expected) => {
    const q = upsert(name, 'upsert');
    expect(q.sql).toBe(expected);
    expect(q.parameters).toEqual([1, 'a', '1.5', 2, 'b', '2.5']);
  });

  it.each([
    ['postgres', / on conflict \("id"\) do nothing$/],
    ['sqlite', / on conflict \("id"\) do nothing$/],
    ['mysql', / on duplicate key update `id` = `orders`.`id`$/],
    ['mssql', /\) on t\."id" = s\."id" when not matched then insert /],
  ] as const)('%s insert keeps existing keys (a replayed batch is harmless)', (name, pattern) => {
    expect(upsert(name, 'insert').sql).toMatch(pattern);
  });

  it('keeps every statement within the parameter limit of its dialect', () => {
    expect(rowsPerStatement(SQL_DIALECTS.mssql, 3)).toBe(666);
    expect(rowsPerStatement(SQL_DIALECTS.mssql, 1)).toBe(1000);
    expect(rowsPerStatement(SQL_DIALECTS.postgres, 20)).toBe(3276);
    expect(rowsPerStatement(SQL_DIALECTS.sqlite, 40)).toBe(819);
  });

  it('quotes identifiers and never inlines values, whatever they contain', () => {
    const evil = `x"); drop table orders; --`;
    const q = writeStatement(SQL_DIALECTS.postgres, { schema: 'my schema', table: 'ord"ers' }, ['we"ird'], [[evil]], 'insert', []);
    expect(q.sql).toBe('insert into "my schema"."ord""ers" ("we""ird") values ($1)');
    expect(q.parameters).toEqual([evil]);
  });
});

describe('read statements per dialect', () => {
  const sync = normalizeSync(
    validateSyncConfig({
      id: 's',
      source: { connector: 'mssql', connection: { url: 'mssql://sa:x@db:1433/app' }, schema: 'dbo', table: 'orders' },
      destination: { connector: 'postgres', connection: { url: 'postgres://h/db' }, table: 'orders' },
      mode: 'timestamp',
      cursorColumn: 'updated_at',
      tiebreakerColumn: 'id',
    }),
  );

  it.each([
    [
      'postgres',
      'select "id" from "dbo"."orders" where ("updated_at" >= $1 and ("updated_at" > $2 or ("updated_at" = $3 and "id" > $4))) order by "updated_at" asc, "id" asc limit $5',
    ],
    [
      'mysql',
      'select `id` from `dbo`.`orders` where (`updated_at` >= ? and (`updated_at` > ? or (`updated_at` = ? and `id` > ?))) order by `updated_at` asc, `id` asc limit ?',
    ],
    [
      'mssql',
      'select top(50) "id" from "dbo"."orders" where ("updated_at" >= @1 and ("updated_at" > @2 or ("updated_at" = @3 and "id" > @4))) order by "updated_at" asc, "id" asc',
    ],
  ] as const)('%s keyset read on (timestamp, tiebreaker)', (name, expected) => {
    const dialect = SQL_DIALECTS[name];
    let q = selectFromEndpoint(dialect.db, sync.source)
      .select(['id'])
      .where((eb) => keysetAfter(eb, ['updated_at', 'id'], ['2024-01-01 00:00:00.5', '7']));
    q = q.orderBy('updated_at', 'asc').orderBy('id', 'asc');
    q = dialect.limitStyle === 'top' ? q.top(50) : q.limit(50);
    expect(q.compile().sql).toBe(expected);
  });

  it('SQL Server tables are created with its own types and a primary key', () => {
    const cols: Column[] = [
      { name: 'id', type: 'int64' },
      { name: 'code', type: 'text' },
      { name: 'price', type: 'decimal', precision: 12, scale: 2 },
      { name: 'at', type: 'timestamptz' },
    ];
    expect(createTableStatement(SQL_DIALECTS.mssql, { table: 'orders' }, cols, ['id', 'code']).sql).toBe(
      'create table "orders" ("id" bigint not null, "code" nvarchar(450) not null, "price" decimal(12,2), "at" datetimeoffset(7), constraint "orders_pkey" primary key ("id", "code"))',
    );
  });

  it('SQL Server watermark: the clock minus delayMs and the largest id, bound as parameters; open transactions are not inspected, and the status says so', async () => {
    const seen: CompiledQuery[] = [];
    const pool = {
      execute: async (q: CompiledQuery) => {
        seen.push(q);
        return { rows: [{ at: '2024-05-01 12:00:00.1234567', max_cursor: '42', timestamp_limit: '2024-05-01 11:59:55.1234567' }], columns: [] };
      },
    } as unknown as SqlPool;
    const dialect = SQL_DIALECTS.mssql;
    const maxCursor = selectFromEndpoint(dialect.db, sync.source).select((eb) => eb.fn.max('id').as('m'));
    const view = await dialect.watermark(pool, { delayMs: 5000, maxCursor });
    expect(seen[0]!.sql.replace(/\s+/g, ' ')).toBe(
      'select convert(varchar(27), sysutcdatetime(), 121) as at, (select max("id") as "m" from "dbo"."orders") as max_cursor, convert(varchar(27), dateadd(millisecond, @1, sysutcdatetime()), 121) as timestamp_limit',
    );
    expect(seen[0]!.parameters).toEqual([-5000]);
    expect(view).toEqual({
      at: '2024-05-01 12:00:00.1234567',
      maxCursor: '42',
      timestampLimit: '2024-05-01 11:59:55.1234567',
      blind: 'open transactions are not inspected on SQL Server',
    });
  });

  it('SQL Server sources are always blind: without delayMs the sync fails at open, before any read; with it the read warns (a scripted pool, no server here)', async () => {
    const reads: string[] = [];
    const pool = {
      execute: async (q: CompiledQuery) => {
        reads.push(q.sql);
        if (q.sql.startsWith('select top(0)'))
          return {
            rows: [],
            columns: [
              { name: 'id', type: 'int64' },
              { name: 'updated_at', type: 'timestamp' },
            ],
          };
        if (q.sql.includes('sysutcdatetime()'))
          return { rows: [{ at: '2024-05-01 12:00:00.1234567', max_cursor: null, timestamp_limit: '2024-05-01 11:59:55.1234567' }], columns: [] };
        return { rows: [{ id: '1', updated_at: '2024-05-01 11:00:00.0000000' }], columns: [] };
      },
      close: async () => {},
    } as unknown as SqlPool;
    const dialect = { ...SQL_DIALECTS.mssql, connect: async () => pool };
    const open = (s: typeof sync) => SqlSource.open(dialect, { sync: s, endpoint: s.source, role: 'source' });
    await expect(open(sync)).rejects.toMatchObject({
      code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND',
      message: expect.stringMatching(
        /^mssql source: open transactions are not inspected on SQL Server, so rows committed late could be skipped for good: set delayMs to the longest/,
      ),
    });
    expect(reads.some((q) => q.includes('order by'))).toBe(false);

    const delayed = await open({ ...sync, delayMs: 5000 });
    const batch = await delayed.read({ kind: 'timestamp', value: null, tiebreaker: null }, 10, new AbortController().signal);
    expect(batch.rows).toHaveLength(1);
    expect(batch.warning).toBe('open transactions are not inspected on SQL Server: only delayMs (5000 ms) protects rows committed late');
  });
});
