import { describe, expect, it, vi } from 'vitest';
import { ConnectorError, FencedError } from '../errors.ts';
import { toOffsetDocument } from '../offset/offset.ts';
import { Gate, Journal, MemoryDeadLetters, MemoryDestination, MemoryOffsetStore, MemorySource, memoryRegistry, memorySync } from '../testing/memory.ts';
import { SyncRunner, type SyncRunnerOptions } from './sync-runner.ts';
import type { Batch, Source } from '../connector/types.ts';
import type { Position } from '../model/position.ts';
import type { SyncStatus } from './status.ts';

/** A runner over in-memory parts: `rows` numbered rows, batches of `batchSize`. */
function setup(rows: number, opts: { batchSize?: number; onError?: 'stop' | 'skip'; runner?: Partial<SyncRunnerOptions> } = {}) {
  const journal = new Journal();
  const source = new MemorySource(rows, journal);
  const destination = new MemoryDestination(journal);
  const offsets = new MemoryOffsetStore(journal);
  const deadLetters = new MemoryDeadLetters();
  const sync = memorySync({ batchSize: opts.batchSize ?? 10, onError: opts.onError ?? 'stop' });
  const runner = new SyncRunner({ sync, connectors: memoryRegistry(source, destination), offsets, deadLetters, agentId: 'test', ...opts.runner });
  const offset = () => offsets.docs.get(sync.id)?.value;
  const reach = (pred: (s: SyncStatus) => boolean) =>
    vi.waitFor(() => expect(pred(runner.snapshot), JSON.stringify(runner.snapshot)).toBe(true), { timeout: 5000, interval: 5 });
  return { journal, source, destination, offsets, deadLetters, sync, runner, offset, reach };
}

const ids = (rows: Array<{ id?: unknown }>) => rows.map((r) => Number(r.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SyncRunner over in-memory connectors', () => {
  it('copies every row, each batch written and committed in the destination before its offset', async () => {
    const t = setup(25);
    void t.runner.start();
    await t.reach((s) => s.state === 'idle');
    await t.runner.stop();
    expect(ids(t.destination.rows)).toEqual(range(1, 25));
    expect(t.offset()).toBe('25');
    expect(t.runner.snapshot).toMatchObject({ rowsCopied: 25, batches: 3, state: 'stopped' });
    for (const [write, offset] of [
      [1, '"10"'],
      [2, '"20"'],
      [3, '"25"'],
    ] as const) {
      expect(t.journal.indexOf(new RegExp(`^write ${write} committed`))).toBeLessThan(t.journal.indexOf(new RegExp(`^commit ${offset}`)));
    }
  });

  it('a sync recovering from a failure never reports failed or retrying without the error and the retry', async () => {
    const statuses: SyncStatus[] = [];
    const t = setup(25, { runner: { onStatus: (s) => statuses.push(s), backoff: { initialMs: 1, maxMs: 1 }, slowBackoff: { initialMs: 1, maxMs: 1 } } });
    // A permanent error (the sync is failed, retried slowly), then a transient one, then rows.
    const errors = [
      new ConnectorError({ connector: 'memory', role: 'source', transient: false, message: 'access denied' }),
      new ConnectorError({ connector: 'memory', role: 'source', transient: true, message: 'connection reset' }),
    ];
    const read = t.source.read.bind(t.source);
    t.source.read = async (position, limit, signal) => {
      const err = errors.shift();
      if (err) throw err;
      return read(position, limit, signal);
    };
    void t.runner.start();
    await t.reach((s) => s.state === 'idle' && s.rowsCopied === 25);
    await t.runner.stop();
    expect(statuses.map((s) => s.state)).toEqual(expect.arrayContaining(['failed', 'retrying', 'idle']));
    const unexplained = statuses.filter((s) => (s.state === 'failed' || s.state === 'retrying') && (s.lastError === undefined || s.retryInMs === undefined));
    expect(unexplained).toEqual([]);
  });

  it('reads the next batch while it writes the current one, and never more than one batch ahead', async () => {
    const t = setup(40);
    t.destination.gate = new Gate();
    void t.runner.start();
    await vi.waitFor(() => expect(t.destination.gate!.waiting).toBe(1), { timeout: 5000, interval: 5 });
    await vi.waitFor(() => expect(t.journal.entries).toContain('read 2 end (10 rows)'), { timeout: 5000, interval: 5 });
    // Write 1 is held: the second batch was read meanwhile, the third waits for write 1.
    expect(t.source.reads).toBe(2);
    t.destination.gate.open();
    await t.reach((s) => s.state === 'idle');
    await t.runner.stop();
    expect(ids(t.destination.rows)).toEqual(range(1, 40));
    expect(t.journal.indexOf(/^read 2 start/)).toBeLessThan(t.journal.indexOf(/^write 1 committed/));
  });

  it('batches are bounded by batchBytes whatever the row width: a run starts at 10 rows and grows at most 8-fold a read', async () => {
    const journal = new Journal();
    const source = new MemorySource(300, journal);
    for (const row of source.rows) row.name = 'x'.repeat(100_000);
    const destination = new MemoryDestination(journal);
    const sync = memorySync({ batchSize: 1000, batchBytes: 1_048_576 });
    const runner = new SyncRunner({
      sync,
      connectors: memoryRegistry(source, destination),
      offsets: new MemoryOffsetStore(journal),
      deadLetters: new MemoryDeadLetters(),
      agentId: 'test',
    });
    void runner.start();
    await vi.waitFor(() => expect(runner.snapshot.state).toBe('idle'), { timeout: 5000, interval: 5 });
    await runner.stop();
    const sizes = journal.entries.flatMap((e) => /^read \d+ end \((\d+) rows\)/.exec(e)?.slice(1).map(Number) ?? []);
    // 10 rows first (nothing known yet), then ~1 MiB of 100 kB rows per read: 10 rows.
    expect(sizes.slice(0, 3)).toEqual([10, 10, 10]);
    expect(Math.max(...sizes)).toBe(10);
    expect(ids(destination.rows)).toEqual(range(1, 300));

    const narrow = setup(2000, { batchSize: 1000 });
    void narrow.runner.start();
    await narrow.reach((s) => s.state === 'idle');
    await narrow.runner.stop();
    const narrowSizes = narrow.journal.entries.flatMap((e) => /^read \d+ end \((\d+) rows\)/.exec(e)?.slice(1).map(Number) ?? []);
    expect(narrowSizes.slice(0, 4)).toEqual([10, 80, 640, 1000]);
    expect(ids(narrow.destination.rows)).toEqual(range(1, 2000));
  });

  it("onError 'skip': refused rows go to the dead letters, the others are written, the offset moves past them", async () => {
    const t = setup(20, { onError: 'skip' });
    t.destination.refuse = new Set(['3', '17']);
    void t.runner.start();
    await t.reach((s) => s.state === 'idle');
    await t.runner.stop();
    expect(ids(t.deadLetters.entries.map((d) => d.row))).toEqual([3, 17]);
    expect(t.deadLetters.entries[0]!.error).toBe('id 3 is refused');
    expect(ids(t.destination.rows).sort((a, b) => a - b)).toEqual(range(1, 20).filter((i) => i !== 3 && i !== 17));
    expect(t.offset()).toBe('20');
    expect(t.runner.snapshot).toMatchObject({ rowsCopied: 18, rowsSkipped: 2 });
  });

  it("onError 'stop': fails at the first refused row naming it; rows before it are written, none after, the offset stays", async () => {
    const t = setup(20, { onError: 'stop' });
    t.destination.refuse = new Set(['7', '15']);
    void t.runner.start();
    const failed = await t.reach((s) => s.state === 'failed').then(() => t.runner.snapshot);
    await t.runner.stop();
    expect(failed.lastError).toMatchObject({ code: 'IDRA_ERR_SYNC_FAILED', row: { id: '7' } });
    expect(failed.lastError!.message).toMatch(/^destination rejected the row id=7; onError is 'stop': id 7 is refused/);
    expect(ids(t.destination.rows)).toEqual(range(1, 6));
    expect(t.offset()).toBeUndefined();
  });

  it('stop() lets the batch in flight finish and commits its offset', async () => {
    const t = setup(15);
    t.destination.gate = new Gate();
    void t.runner.start();
    await vi.waitFor(() => expect(t.destination.gate!.waiting).toBe(1), { timeout: 5000, interval: 5 });
    const stopped = t.runner.stop();
    t.destination.gate.open();
    await stopped;
    expect(ids(t.destination.rows)).toEqual(range(1, 10));
    expect(t.offset()).toBe('10');
    expect(t.destination.writes).toBe(1);
    expect(t.runner.snapshot.state).toBe('stopped');
  });

  it('abort() abandons the batch in flight: its write is aborted (rolled back) and no offset is written', async () => {
    const t = setup(15);
    t.destination.gate = new Gate();
    void t.runner.start();
    await vi.waitFor(() => expect(t.destination.gate!.waiting).toBe(1), { timeout: 5000, interval: 5 });
    await t.runner.abort();
    expect(t.destination.signals[0]!.aborted).toBe(true);
    expect(t.destination.rows).toEqual([]);
    expect(t.offset()).toBeUndefined();
    expect(t.journal.entries.some((e) => e.startsWith('commit'))).toBe(false);
    expect(t.runner.snapshot.state).toBe('stopped');
  });

  it('a stored offset of another kind fails the sync before reading, asking for a reset', async () => {
    const t = setup(5);
    t.offsets.docs.set(t.sync.id, toOffsetDocument({ kind: 'timestamp', value: '2024-01-01 00:00:00', tiebreaker: '1' }, { agentId: 'old', epoch: 0 }));
    void t.runner.start();
    await t.reach((s) => s.state === 'failed');
    await t.runner.stop();
    expect(t.runner.snapshot.lastError).toMatchObject({
      code: 'IDRA_ERR_SYNC_FAILED',
      message: "stored offset is of kind 'timestamp' but mode 'id' needs 'id': reset the offset",
    });
    expect(t.source.reads).toBe(0);
  });

  it('an offset commit refused for lost ownership (FencedError) stops the sync at once: nothing more is committed', async () => {
    const t = setup(30);
    t.offsets.fenced = true;
    void t.runner.start();
    await t.runner.done;
    expect(t.runner.snapshot).toMatchObject({ state: 'stopped', lastError: { code: 'IDRA_ERR_OFFSET_FENCED' } });
    // The next batch was being written while the first offset was stored: it waited for that and rolled back.
    expect(ids(t.destination.rows)).toEqual(range(1, 10));
    expect(t.destination.writes).toBeLessThanOrEqual(2);
    expect(t.source.reads).toBeLessThanOrEqual(3);
    const after = t.journal.entries.slice(t.journal.indexOf(/^commit fenced/) + 1);
    expect(after.filter((e) => / committed$/.test(e))).toEqual([]);
    expect(after.filter((e) => / start /.test(e) && e.startsWith('write')).length).toBeLessThanOrEqual(1);
  });

  it("stores a batch's offset while the next batch is written, which commits only after it", async () => {
    const t = setup(30);
    const store = t.offsets.commit.bind(t.offsets);
    const held = new Gate();
    t.offsets.commit = async (syncId, position, ctx) => {
      // The first offset is held until the second write waits for it.
      if (position.value === '10') await held.pass(AbortSignal.timeout(5000));
      return store(syncId, position, ctx);
    };
    void t.runner.start();
    await vi.waitFor(() => expect(t.journal.indexOf(/^write 2 waits for the previous offset/)).toBeGreaterThan(-1), { timeout: 5000, interval: 5 });
    expect(t.journal.indexOf(/^write 2 committed/)).toBe(-1);
    held.open();
    await t.reach((s) => s.state === 'idle');
    await t.runner.stop();
    expect(ids(t.destination.rows)).toEqual(range(1, 30));
    expect(t.offset()).toBe('30');
    const at = (p: RegExp) => t.journal.indexOf(p);
    expect(at(/^commit "10"/)).toBeLessThan(at(/^write 2 committed/));
    expect(at(/^commit "20"/)).toBeLessThan(at(/^write 3 committed/));
    expect(at(/^commit "20"/)).toBeGreaterThan(at(/^commit "10"/));
  });

  it('a check before a write that finds the lock gone (FencedError) stops the sync before it writes anything', async () => {
    const t = setup(30, {
      runner: {
        beforeWrite: () => {
          throw new FencedError('memory');
        },
      },
    });
    void t.runner.start();
    await t.runner.done;
    expect(t.runner.snapshot).toMatchObject({ state: 'stopped', lastError: { code: 'IDRA_ERR_OFFSET_FENCED' } });
    expect(t.destination.writes).toBe(0);
    expect(t.offset()).toBeUndefined();
  });
});

describe('SyncRunner in a mode that follows a change log (cdc)', () => {
  /** A change log that only moves: each read waits a little (as a stream read does) and returns no rows, its position one further. */
  class MovingLog {
    reads = 0;
    readonly committed: Position[] = [];
    async read(position: Position): Promise<Batch> {
      this.reads++;
      await new Promise((r) => setTimeout(r, 5));
      const lsn = Number((position.value as { lsn?: string } | null)?.lsn ?? 0) + 1;
      return { columns: [], rows: [], position: { kind: 'stream', value: { lsn: String(lsn) } } };
    }
    async commit(position: Position): Promise<void> {
      this.committed.push(position);
    }
    async close(): Promise<void> {}
  }

  it('commits a position the log moved to without rows, tells the source, and reads again at once instead of sleeping pollIntervalMs', async () => {
    const journal = new Journal();
    const source = new MovingLog();
    const log: Source = { read: (p) => source.read(p), committed: (p) => source.commit(p), close: () => source.close() };
    const offsets = new MemoryOffsetStore(journal);
    const sync = memorySync({
      mode: 'cdc',
      cursorColumn: undefined,
      source: { connector: 'postgres', connection: { url: 'postgres://h/db' }, table: 'source' },
      pollIntervalMs: 60_000,
    });
    const runner = new SyncRunner({
      sync,
      connectors: memoryRegistry(log, new MemoryDestination(journal)),
      offsets,
      deadLetters: new MemoryDeadLetters(),
      agentId: 'test',
    });
    void runner.start();
    // With a 60 s poll interval, only a runner that does not sleep reads five times within the wait.
    await vi.waitFor(() => expect(source.reads).toBeGreaterThanOrEqual(5), { timeout: 5000, interval: 5 });
    await runner.stop();
    const stored = offsets.docs.get(sync.id)!;
    expect(stored.kind).toBe('stream');
    expect(Number((stored.value as { lsn: string }).lsn)).toBeGreaterThanOrEqual(4);
    expect(source.committed.length).toBeGreaterThanOrEqual(4);
    expect(journal.entries.filter((e) => e.startsWith('write'))).toEqual([]);
  });
});

/** Data-source slots as the runner sees them (the etcd semaphore itself is tested in cluster/data-source-slots.test.ts). */
class JournalledSlots {
  readonly holdWhileIdle: boolean;
  private readonly journal: Journal;
  /** Waits to report before the first grant. */
  private waits: number;
  acquired = 0;
  released = 0;
  constructor(journal: Journal, holdWhileIdle: boolean, waits = 0) {
    this.journal = journal;
    this.holdWhileIdle = holdWhileIdle;
    this.waits = waits;
  }
  async acquire(_signal: AbortSignal, onWait: (w: NonNullable<SyncStatus['waitingFor']>) => void): Promise<boolean> {
    while (this.waits > 0) {
      this.waits--;
      onWait({ dataSourceId: 'pg', limit: 'syncs', held: 1, max: 1, holders: ['other on a2'], ahead: 0, since: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, 20));
    }
    this.acquired++;
    this.journal.add('slots taken');
    return true;
  }
  async release(): Promise<void> {
    this.released++;
    this.journal.add('slots given back');
  }
}

describe('SyncRunner with data-source slots', () => {
  it('waits for its slots (status waiting, saying for what), and gives them back between polls once caught up', async () => {
    const t = setup(25);
    const slots = new JournalledSlots(t.journal, false, 2);
    const states: SyncStatus[] = [];
    const runner = new SyncRunner({
      sync: t.sync,
      connectors: memoryRegistry(t.source, t.destination),
      offsets: t.offsets,
      deadLetters: t.deadLetters,
      agentId: 'test',
      slots,
      onStatus: (s) => states.push(s),
    });
    void runner.start();
    await vi.waitFor(() => expect(slots.acquired).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 });
    await runner.stop();
    expect(states.find((s) => s.state === 'waiting')?.waitingFor).toMatchObject({ dataSourceId: 'pg', holders: ['other on a2'] });
    // Every read happens while the slots are held, and they are given back at the end.
    let held = false;
    const unheldReads: string[] = [];
    for (const e of t.journal.entries) {
      if (e === 'slots taken') held = true;
      else if (e === 'slots given back') held = false;
      else if (e.startsWith('read ') && !held) unheldReads.push(e);
    }
    expect(unheldReads).toEqual([]);
    expect(held).toBe(false);
    expect(ids(t.destination.rows)).toEqual(range(1, 25));
  });

  it('keeps its slots between polls with holdSlotWhileIdle', async () => {
    const slots = new JournalledSlots(new Journal(), true);
    const t = setup(25, { runner: { slots } });
    void t.runner.start();
    await t.reach((s) => s.state === 'idle');
    await new Promise((r) => setTimeout(r, 100)); // several polls of 10 ms
    await t.runner.stop();
    expect([slots.acquired, slots.released]).toEqual([1, 1]);
  });
});
