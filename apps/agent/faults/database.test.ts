import { describe, it } from 'vitest';
import { sleep } from '@idra/core';
import { ENDPOINT_OPTIONS, useWorld, type Shot } from './world.ts';

// Database and network faults under concurrent writers, every cursor mode, three real agents.
// Bounds: how long after the end of a fault every sync must be running again (documented in
// docs/guarantees.md with the measured times).

describe('fault suite: databases and the network', () => {
  const world = useWorld();

  const restart =
    (db: 'pgSource' | 'pgDest' | 'maria', signal: NodeJS.Signals): Shot =>
    async () => {
      await world().restart(db, signal);
      return { healedAt: Date.now() };
    };

  /** A fault held for `ms`, then lifted. */
  const held =
    (ms: number, begin: () => Promise<void> | void, end: () => Promise<void> | void): Shot =>
    async () => {
      await begin();
      await sleep(ms);
      await end();
      return { healedAt: Date.now() };
    };

  it('source PostgreSQL restarted: fast, immediate, fast', async () => {
    const shots = [restart('pgSource', 'SIGINT'), restart('pgSource', 'SIGQUIT'), restart('pgSource', 'SIGINT')];
    await world().scenario('source PostgreSQL restarts (pg_ctl -m fast / immediate)', 15_000, shots);
  });

  it('destination PostgreSQL restarted: immediate, fast, immediate', async () => {
    const shots = [restart('pgDest', 'SIGQUIT'), restart('pgDest', 'SIGINT'), restart('pgDest', 'SIGQUIT')];
    await world().scenario('destination PostgreSQL restarts (pg_ctl -m immediate / fast)', 15_000, shots);
  });

  it('MariaDB (source and destination) restarted: clean, crash, clean', async () => {
    const shots = [restart('maria', 'SIGTERM'), restart('maria', 'SIGKILL'), restart('maria', 'SIGTERM')];
    await world().scenario('MariaDB restarts (clean / crash)', 15_000, shots);
  });

  it('every database connection reset by the network, three times', async () => {
    // A reset that meets only idle pooled connections goes unnoticed (the pool drops them): the
    // connections are reset again, up to ten times 300 ms apart, until a sync meets one mid-statement.
    const resetAll: Shot = async () => {
      const before = world().logged('sync error; retrying');
      for (let attempt = 0; attempt < 10; attempt++) {
        for (const proxy of Object.values(world().proxies)) proxy.reset();
        await sleep(300);
        if (world().logged('sync error; retrying') > before) break;
      }
      return { healedAt: Date.now() };
    };
    await world().scenario('connections reset (RST)', 10_000, [resetAll, resetAll, resetAll]);
  });

  it(`every database blackholed for twice the statement timeout (${ENDPOINT_OPTIONS.statementTimeoutMs} ms)`, async () => {
    const proxies = Object.values(world().proxies);
    const blackhole = held(
      2 * ENDPOINT_OPTIONS.statementTimeoutMs,
      () => proxies.forEach((p) => p.blackhole()),
      () => proxies.forEach((p) => p.heal()),
    );
    await world().scenario('network blackhole (2 × statementTimeoutMs)', 20_000, [blackhole]);
  });

  it('destinations refuse writes for a while: read-only PostgreSQL, disk full on PostgreSQL and MariaDB', async () => {
    const readOnly = held(
      5_000,
      () =>
        world()
          .sql('pgDest', 'alter system set default_transaction_read_only = on')
          .then(() => world().sql('pgDest', 'select pg_reload_conf()')),
      () =>
        world()
          .sql('pgDest', 'alter system reset default_transaction_read_only')
          .then(() => world().sql('pgDest', 'select pg_reload_conf()')),
    );
    const pgDiskFull = held(
      5_000,
      async () => {
        await world().sql(
          'pgDest',
          `create function disk_full() returns trigger language plpgsql as $$
             begin raise exception 'could not extend file: No space left on device' using errcode = 'disk_full'; end $$`,
        );
        await world().sql('pgDest', 'create trigger disk_full before insert or update on d_pg_ts for each row execute function disk_full()');
      },
      () => world().sql('pgDest', 'drop function disk_full() cascade'),
    );
    const mariaDiskFull = held(
      5_000,
      () =>
        world().sql(
          'maria',
          `create trigger disk_full before insert on d_to_my for each row
             signal sqlstate 'HY000' set mysql_errno = 1021, message_text = 'Disk full; waiting for someone to free some space'`,
        ),
      () => world().sql('maria', 'drop trigger disk_full'),
    );
    await world().scenario('destination refuses writes (read-only, disk full) for 5 s', 20_000, [readOnly, pgDiskFull, mariaDiskFull]);
  });
});
