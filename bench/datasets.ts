import { join } from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';

export type Engine = 'postgres' | 'mysql' | 'sqlite';
export type Shape = 'narrow' | 'wide';

/** Column definitions of the benchmark tables per engine: narrow (4 columns) and wide (20 columns). */
function columns(engine: Engine, shape: Shape): string {
  const t = {
    postgres: { id: 'bigint primary key', text: 'text', num: 'numeric(14,2)', ts: 'timestamptz(6)', int: 'integer', bool: 'boolean', json: 'jsonb' },
    mysql: { id: 'bigint primary key', text: 'varchar(100)', num: 'decimal(14,2)', ts: 'datetime(6)', int: 'int', bool: 'boolean', json: 'json' },
    // Plain declared types: pgloader, the baseline, does not parse Idra's "decimal text" style.
    sqlite: { id: 'bigint primary key', text: 'text', num: 'numeric', ts: 'timestamp', int: 'integer', bool: 'boolean', json: 'text' },
  }[engine];
  if (shape === 'narrow') return `id ${t.id}, name ${t.text} not null, amount ${t.num} not null, created_at ${t.ts} not null`;
  const cols = [`id ${t.id}`];
  for (let i = 1; i <= 6; i++) cols.push(`t${i} ${t.text}`);
  for (let i = 1; i <= 4; i++) cols.push(`n${i} ${t.num}`);
  for (let i = 1; i <= 4; i++) cols.push(`ts${i} ${t.ts}`);
  cols.push(`i1 ${t.int}`, `i2 ${t.int}`, `b1 ${t.bool}`, `j1 ${t.json}`, `j2 ${t.json}`);
  return cols.join(', ');
}

/** Creates table `src` with `rows` generated rows in a source database; returns the table size in bytes (approximate). */
export async function createSource(engine: Engine, connection: { url?: string; file?: string }, shape: Shape, rows: number): Promise<number> {
  const ddl = `create table src (${columns(engine, shape)})`;
  if (engine === 'postgres') {
    const c = new pg.Client(connection.url);
    await c.connect();
    try {
      await c.query(ddl);
      const select =
        shape === 'narrow'
          ? `select g, 'customer ' || (g % 10007), (g % 100000) / 100.0, timestamptz '2024-01-01' + g * interval '1 second'`
          : `select g, ${[1, 2, 3, 4, 5, 6].map((i) => `'text ${i} ' || md5((g * ${i})::text)`).join(', ')}, ${[1, 2, 3, 4].map((i) => `(g % ${1000 * i}) / 100.0`).join(', ')},
             ${[1, 2, 3, 4].map((i) => `timestamptz '2024-01-01' + (g * ${i}) * interval '1 millisecond'`).join(', ')}, g % 1000, g % 77, g % 2 = 0,
             jsonb_build_object('g', g, 'tag', 'x' || (g % 13)), jsonb_build_array(g, g % 7, 'y')`;
      await c.query(`insert into src ${select} from generate_series(1, $1) g`, [rows]);
      await c.query('analyze src');
      return Number((await c.query(`select pg_table_size('src') as b`)).rows[0].b);
    } finally {
      await c.end();
    }
  }
  if (engine === 'mysql') {
    const c = await mysql.createConnection({ uri: connection.url!, connectTimeout: 60_000 });
    try {
      await c.query(ddl);
      // MariaDB's Sequence engine generates the rows server-side, in chunks to keep transactions small.
      for (let from = 1; from <= rows; from += 200_000) {
        const to = Math.min(rows, from + 199_999);
        const select =
          shape === 'narrow'
            ? `select seq, concat('customer ', seq % 10007), (seq % 100000) / 100, timestamp '2024-01-01 00:00:00' + interval seq second`
            : `select seq, ${[1, 2, 3, 4, 5, 6].map((i) => `concat('text ${i} ', md5(seq * ${i}))`).join(', ')}, ${[1, 2, 3, 4].map((i) => `(seq % ${1000 * i}) / 100`).join(', ')},
               ${[1, 2, 3, 4].map((i) => `timestamp '2024-01-01 00:00:00' + interval (seq * ${i}) * 1000 microsecond`).join(', ')}, seq % 1000, seq % 77, seq % 2 = 0,
               json_object('g', seq, 'tag', concat('x', seq % 13)), json_array(seq, seq % 7, 'y')`;
        await c.query(`insert into src ${select} from seq_${from}_to_${to}`);
      }
      await c.query('analyze table src');
      const [r] = await c.query(`select data_length as b from information_schema.tables where table_schema = database() and table_name = 'src'`);
      return Number((r as Array<{ b: number }>)[0]!.b);
    } finally {
      await c.end();
    }
  }
  const db = new Database(connection.file!);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(ddl);
    const placeholders = shape === 'narrow' ? 4 : 20;
    const insert = db.prepare(`insert into src values (${Array(placeholders).fill('?').join(', ')})`);
    const base = Date.parse('2024-01-01T00:00:00Z');
    const stamp = (ms: number) => new Date(base + ms).toISOString().replace('T', ' ').replace('Z', '000');
    db.transaction(() => {
      for (let g = 1; g <= rows; g++) {
        if (shape === 'narrow') insert.run(g, `customer ${g % 10007}`, ((g % 100000) / 100).toFixed(2), stamp(g * 1000));
        else
          insert.run(
            g,
            ...[1, 2, 3, 4, 5, 6].map((i) => `text ${i} ${(g * i).toString(16).padStart(32, '0')}`),
            ...[1, 2, 3, 4].map((i) => ((g % (1000 * i)) / 100).toFixed(2)),
            ...[1, 2, 3, 4].map((i) => stamp(g * i)),
            g % 1000,
            g % 77,
            g % 2 === 0 ? 1 : 0,
            JSON.stringify({ g, tag: `x${g % 13}` }),
            JSON.stringify([g, g % 7, 'y']),
          );
      }
    })();
    return Number((db.prepare('select page_count * page_size as b from pragma_page_count(), pragma_page_size()').get() as { b: number }).b);
  } finally {
    db.close();
  }
}

/** Rows in a table of a destination (for checking that a run copied everything). */
export async function countRows(engine: Engine, connection: { url?: string; file?: string }, table: string): Promise<number> {
  if (engine === 'postgres') {
    const c = new pg.Client(connection.url);
    await c.connect();
    try {
      return Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n);
    } finally {
      await c.end();
    }
  }
  if (engine === 'mysql') {
    const c = await mysql.createConnection({ uri: connection.url! });
    try {
      const [r] = await c.query(`select count(*) as n from ${table}`);
      return Number((r as Array<{ n: number }>)[0]!.n);
    } finally {
      await c.end();
    }
  }
  const db = new Database(connection.file!, { readonly: true });
  try {
    return Number((db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n);
  } finally {
    db.close();
  }
}

export function sqliteFile(dir: string, name: string): string {
  return join(dir, `${name}.db`);
}
