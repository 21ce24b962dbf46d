import { FencedError, RowRejectedError } from '../errors.ts';
import type { Batch, Column, ConnectorRegistry, Destination, Row, Source, WriteResult } from '../connector/types.ts';
import type { Position } from '../model/position.ts';
import { normalizeSync, validateSyncConfig } from '../model/sync.ts';
import type { Sync, SyncConfig } from '../model/schema.ts';
import { offsetChange, toOffsetDocument, type CommitContext, type OffsetChange, type OffsetDocument, type OffsetStore } from '../offset/offset.ts';
import type { DeadLetter, DeadLetterSink } from '../runner/status.ts';

/**
 * In-memory connectors and stores for fast tests of the runner (no server, no file): a source of
 * numbered rows, a destination that can refuse rows or hold a write, an offset store that can be
 * fenced. Every call lands in one journal, in order, so a test can assert what happened before what.
 */
export class Journal {
  readonly entries: string[] = [];
  add(entry: string): void {
    this.entries.push(entry);
  }
  /** Index of the first entry matching `pattern` (-1 when none). */
  indexOf(pattern: RegExp): number {
    return this.entries.findIndex((e) => pattern.test(e));
  }
}

/** A gate a call waits at until the test opens it (or the call's signal aborts). */
export class Gate {
  private opened = false;
  private waiters: Array<() => void> = [];
  /** Calls waiting at the gate now. */
  waiting = 0;
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
  async pass(signal: AbortSignal): Promise<void> {
    if (this.opened) return;
    this.waiting++;
    try {
      await new Promise<void>((resolve, reject) => {
        signal.throwIfAborted();
        this.waiters.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    } finally {
      this.waiting--;
    }
  }
}

const COLUMNS: Column[] = [
  { name: 'id', type: 'int64' },
  { name: 'name', type: 'text' },
];

/** Rows `{ id, name }` with ids 1…n, read in id order after an `id` position. */
export class MemorySource implements Source {
  readonly rows: Row[];
  /** When set, each read waits here first. */
  gate: Gate | undefined;
  reads = 0;
  private readonly journal: Journal;

  constructor(count: number, journal: Journal) {
    this.rows = Array.from({ length: count }, (_, i) => ({ id: String(i + 1), name: `row ${i + 1}` }));
    this.journal = journal;
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    if (position.kind !== 'id') throw new Error(`the memory source reads id positions, not ${position.kind}`);
    const n = ++this.reads;
    this.journal.add(`read ${n} start after ${position.value ?? 'start'}`);
    await this.gate?.pass(signal);
    const after = position.value === null ? 0 : Number(position.value);
    const rows = this.rows.filter((r) => Number(r.id) > after).slice(0, limit);
    this.journal.add(`read ${n} end (${rows.length} rows)`);
    const last = rows[rows.length - 1];
    return { columns: COLUMNS, rows, position: last ? { kind: 'id', value: String(last.id) } : position };
  }

  async close(): Promise<void> {}
}

/** Keeps the rows of each write that it takes, all or nothing (a transaction); `refuse` names rows it rejects. */
export class MemoryDestination implements Destination {
  readonly rows: Row[] = [];
  writes = 0;
  /** Rows it refuses, by id: a write holding one fails whole with a RowRejectedError. */
  refuse = new Set<string>();
  /** When set, each write waits here before committing (an abort rolls it back). */
  gate: Gate | undefined;
  /** Signals the writes were given, to check they were aborted. */
  readonly signals: AbortSignal[] = [];
  private readonly journal: Journal;

  constructor(journal: Journal) {
    this.journal = journal;
  }

  readonly commitsAfter = true;

  async write(batch: Batch, signal: AbortSignal, commitAfter?: Promise<void>): Promise<WriteResult> {
    const n = ++this.writes;
    this.signals.push(signal);
    const ids = batch.rows.map((r) => String(r.id));
    this.journal.add(`write ${n} start ${ids[0]}..${ids[ids.length - 1]}`);
    await this.gate?.pass(signal);
    const refused = batch.rows.find((r) => this.refuse.has(String(r.id)));
    if (refused) {
      this.journal.add(`write ${n} refused`);
      throw new RowRejectedError(batch.rows.length === 1 ? refused : undefined, new Error(`id ${String(refused.id)} is refused`));
    }
    if (commitAfter) {
      this.journal.add(`write ${n} waits for the previous offset`);
      try {
        await commitAfter;
      } catch (err) {
        this.journal.add(`write ${n} rolled back`);
        throw err;
      }
    }
    this.rows.push(...batch.rows);
    this.journal.add(`write ${n} committed`);
    return { written: batch.rows.length };
  }

  async close(): Promise<void> {}
}

/** Offsets in a map; `fenced` makes every commit fail as if the lock were lost. */
export class MemoryOffsetStore implements OffsetStore {
  readonly docs = new Map<string, OffsetDocument>();
  readonly changes = new Map<string, OffsetChange[]>();
  fenced = false;
  private readonly journal: Journal;

  constructor(journal: Journal) {
    this.journal = journal;
  }

  async load(syncId: string): Promise<OffsetDocument | undefined> {
    return this.docs.get(syncId);
  }

  async commit(syncId: string, position: Position, ctx: CommitContext): Promise<OffsetDocument> {
    if (this.fenced) {
      this.journal.add('commit fenced');
      throw new FencedError(syncId);
    }
    const doc = toOffsetDocument(position, ctx);
    this.docs.set(syncId, doc);
    this.journal.add(`commit ${JSON.stringify(position.value)}`);
    return doc;
  }

  async set(syncId: string, position: Position | null, change: { by: string; reason: string }): Promise<void> {
    const current = this.docs.get(syncId);
    (this.changes.get(syncId) ?? this.changes.set(syncId, []).get(syncId)!).push(offsetChange(current, position, change));
    if (position) this.docs.set(syncId, toOffsetDocument(position, { agentId: `manual:${change.by}`, epoch: 0 }));
    else this.docs.delete(syncId);
  }

  async history(syncId: string): Promise<OffsetChange[]> {
    return this.changes.get(syncId) ?? [];
  }
}

/** Dead letters in an array. */
export class MemoryDeadLetters implements DeadLetterSink {
  readonly entries: DeadLetter[] = [];
  async record(entries: DeadLetter[]): Promise<void> {
    this.entries.push(...entries);
  }
}

/** A registry that opens the given source and destination for every sync. */
export function memoryRegistry(source: Source, destination: Destination): ConnectorRegistry {
  return { openSource: async () => source, openDestination: async () => destination };
}

/** A valid sync in `id` mode over the memory connectors (their kinds are only labels here), with `overrides`. */
export function memorySync(overrides: Partial<SyncConfig> = {}): Sync {
  const config = validateSyncConfig({
    id: 'memory',
    source: { connector: 'sqlite', connection: { file: ':memory:' }, table: 'source' },
    destination: { connector: 'sqlite', connection: { file: ':memory:' }, table: 'destination' },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    pollIntervalMs: 10,
    ...overrides,
  });
  return normalizeSync(config);
}
