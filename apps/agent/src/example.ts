import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '@idra/core';

const FIRST_RUN_ROWS = 10_000;
const NEXT_RUN_ROWS = 100;
const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'returned'];

/** Paths of the bundled example under the state dir. */
export interface Example {
  configFile: string;
  sourceFile: string;
  destinationFile: string;
  /** Keeps writing to the source (new and updated orders) so the polling is visible; returns a stop function. */
  startTrickle(): () => void;
}

function insertOrders(db: Database.Database, count: number): void {
  const insert = db.prepare(
    `insert into orders (customer, amount, status, created_at, updated_at)
     values (?, ?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'))`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      insert.run(`customer-${(i * 7919) % 1000}`, (((i * 37) % 100000) / 100).toFixed(2), STATUSES[i % STATUSES.length]);
    }
  })();
}

/**
 * Prepares the embedded default: a SQLite source with sample orders (10,000 on the first run, 100
 * more on each later run) and a config with two syncs into a SQLite destination — an `id` sync that
 * appends new orders and a `timestamp` sync that upserts changed ones.
 */
/** Where the example keeps its offsets, under the agent's `--state-dir`. */
export function exampleStateDir(baseDir: string): string {
  return join(resolve(baseDir, 'example'), 'state');
}

export async function prepareExample(baseDir: string, log: Logger): Promise<Example> {
  const dir = resolve(baseDir, 'example');
  await mkdir(dir, { recursive: true });
  const sourceFile = join(dir, 'source.db');
  const destinationFile = join(dir, 'destination.db');
  const db = new Database(sourceFile);
  db.pragma('journal_mode = WAL');
  db.exec(`create table if not exists orders (
    id integer primary key autoincrement,
    customer text not null,
    amount decimal text not null,
    status text not null,
    created_at timestamp text not null,
    updated_at timestamp text not null
  )`);
  const existing = Number((db.prepare('select count(*) as n from orders').get() as { n: number }).n);
  const added = existing === 0 ? FIRST_RUN_ROWS : NEXT_RUN_ROWS;
  insertOrders(db, added);
  db.close();
  log.info({ sourceFile, existing, added }, `example source ${sourceFile}: ${existing} orders existed, added ${added}`);

  const connection = (file: string) => ({ file });
  const config = {
    syncs: [
      {
        id: 'orders-by-id',
        name: 'New orders (id cursor, append)',
        source: { connector: 'sqlite', connection: connection(sourceFile), table: 'orders' },
        destination: { connector: 'sqlite', connection: connection(destinationFile), table: 'orders_copy' },
        mode: 'id',
        cursorColumn: 'id',
        keyColumns: ['id'],
        writeMode: 'insert',
        batchSize: 2000,
        pollIntervalMs: '2s',
      },
      {
        id: 'orders-changes',
        name: 'Changed orders (timestamp cursor + id tiebreaker, upsert)',
        source: { connector: 'sqlite', connection: connection(sourceFile), table: 'orders' },
        destination: { connector: 'sqlite', connection: connection(destinationFile), table: 'orders_latest' },
        mode: 'timestamp',
        cursorColumn: 'updated_at',
        tiebreakerColumn: 'id',
        keyColumns: ['id'],
        writeMode: 'upsert',
        batchSize: 2000,
        pollIntervalMs: '2s',
      },
    ],
  };
  const configFile = join(dir, 'syncs.json');
  await writeFile(configFile, JSON.stringify(config, null, 2) + '\n');

  return {
    configFile,
    sourceFile,
    destinationFile,
    startTrickle() {
      const writer = new Database(sourceFile);
      writer.pragma('busy_timeout = 5000');
      const update = writer.prepare(
        `update orders set status = ?, updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') where id = (abs(random()) % (select max(id) from orders)) + 1`,
      );
      const timer = setInterval(() => {
        try {
          insertOrders(writer, 5);
          for (let i = 0; i < 3; i++) update.run(STATUSES[i % STATUSES.length]);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'example writer: source busy, will try again');
        }
      }, 3000);
      timer.unref();
      return () => {
        clearInterval(timer);
        writer.close();
      };
    },
  };
}
