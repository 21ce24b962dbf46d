import type { Batch, Column, Row } from './types.ts';

/**
 * A change of the source's columns. `rename` comes only from sources that can tell (a change log);
 * a polling source sees a rename as a drop plus an add.
 */
export type SchemaChange =
  | { kind: 'add'; column: Column }
  | { kind: 'drop'; column: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'widen'; column: Column; from: Column };

/**
 * A change of a batch other than an upsert, placed in the batch's order just before `rows[at]`
 * (`at === rows.length`: after every row). A batch keeps its rows in one plain array and lists these
 * sparsely beside them, so that a batch of rows alone costs no wrapper object per row.
 */
export type Change =
  /** The row with this key is gone: `key` holds the values of the sync's key columns. */
  | { kind: 'delete'; at: number; key: Row }
  | { kind: 'schema'; at: number; change: SchemaChange }
  /** Every row is gone (a TRUNCATE read from a change log): the destination table is emptied. */
  | { kind: 'truncate'; at: number };

/** One step of a batch in its order: consecutive rows, consecutive deletes, one schema change, or a truncate. */
export type BatchStep = { kind: 'rows'; rows: Row[] } | { kind: 'deletes'; keys: Row[] } | { kind: 'schema'; change: SchemaChange } | { kind: 'truncate' };

/** True when a batch holds anything to apply: rows or changes. */
export function batchHasWork(batch: Pick<Batch, 'rows' | 'changes'>): boolean {
  return batch.rows.length > 0 || (batch.changes?.length ?? 0) > 0;
}

/** Number of deletes a batch carries. */
export function deleteCount(batch: Pick<Batch, 'changes'>): number {
  let n = 0;
  for (const c of batch.changes ?? []) if (c.kind === 'delete') n++;
  return n;
}

/**
 * The steps of a batch in order, as a destination applies them. A batch without changes is one step
 * holding its own rows array (no copy).
 */
export function batchSteps(batch: Pick<Batch, 'rows' | 'changes'>): BatchStep[] {
  const changes = batch.changes ?? [];
  if (changes.length === 0) return batch.rows.length > 0 ? [{ kind: 'rows', rows: batch.rows }] : [];
  const steps: BatchStep[] = [];
  let from = 0;
  const flushRows = (to: number) => {
    if (to > from) steps.push({ kind: 'rows', rows: batch.rows.slice(from, to) });
    from = Math.max(from, to);
  };
  for (const change of changes) {
    flushRows(Math.min(change.at, batch.rows.length));
    if (change.kind === 'schema') {
      steps.push({ kind: 'schema', change: change.change });
      continue;
    }
    if (change.kind === 'truncate') {
      steps.push({ kind: 'truncate' });
      continue;
    }
    const last = steps[steps.length - 1];
    if (last?.kind === 'deletes') last.keys.push(change.key);
    else steps.push({ kind: 'deletes', keys: [change.key] });
  }
  flushRows(batch.rows.length);
  return steps;
}

/** The changes of one step, as a batch of that step alone carries them. */
export function stepChanges(step: BatchStep): Change[] | undefined {
  switch (step.kind) {
    case 'rows':
      return undefined;
    case 'deletes':
      return step.keys.map((key) => ({ kind: 'delete', at: 0, key }));
    case 'schema':
      return [{ kind: 'schema', at: 0, change: step.change }];
    case 'truncate':
      return [{ kind: 'truncate', at: 0 }];
  }
}

/**
 * The batch with only the rows `keep` accepts; its changes keep their places among the rows that
 * remain, and a row left out becomes a delete at its place when `deleteKey` gives its key (a row
 * soft-deleted at the source). Returns the batch itself when every row is kept.
 */
export function keepRows<B extends Pick<Batch, 'rows' | 'changes'>>(batch: B, keep: (row: Row) => boolean, deleteKey?: (row: Row) => Row | undefined): B {
  const { rows } = batch;
  const changes = batch.changes ?? [];
  let kept: Row[] | undefined; // made at the first row left out: until then the batch is unchanged
  const placed: Change[] = [];
  let next = 0; // the first change not yet placed
  const placeUpTo = (i: number) => {
    for (; next < changes.length && changes[next]!.at <= i; next++) placed.push({ ...changes[next]!, at: kept!.length });
  };
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const keepIt = keep(row);
    if (!kept) {
      if (keepIt) continue;
      // Changes before this row keep their places: every row before it is kept.
      for (; next < changes.length && changes[next]!.at < i; next++) placed.push(changes[next]!);
      kept = rows.slice(0, i);
    }
    placeUpTo(i);
    if (keepIt) {
      kept.push(row);
      continue;
    }
    const key = deleteKey?.(row);
    if (key) placed.push({ kind: 'delete', at: kept.length, key });
  }
  if (!kept) return batch;
  placeUpTo(Infinity);
  return { ...batch, rows: kept, changes: placed };
}

/** The same batch with `changes` placed before its first row (schema changes found by comparing columns). */
export function prependChanges<B extends Pick<Batch, 'changes'>>(batch: B, changes: SchemaChange[]): B {
  if (changes.length === 0) return batch;
  return { ...batch, changes: [...changes.map((change) => ({ kind: 'schema' as const, at: 0, change })), ...(batch.changes ?? [])] };
}

const INTEGER_DIGITS = { int32: 10, int64: 19 } as const;

/** Digits before the point a column holds; undefined when unbounded. */
function integerDigits(c: Column): number | undefined {
  if (c.type === 'int32' || c.type === 'int64') return INTEGER_DIGITS[c.type];
  if (c.type === 'decimal' && c.precision !== undefined) return c.precision - (c.scale ?? 0);
  return undefined;
}

/**
 * How a column's type changed: `same`; `wider` when every value of `from` fits `to` exactly
 * (int32→int64, an integer→decimal with enough digits, int32→float, decimal precision up);
 * `narrower` for the reverse; `incompatible` otherwise.
 */
export function typeChange(from: Column, to: Column): 'same' | 'wider' | 'narrower' | 'incompatible' {
  const numeric = (c: Column) => c.type === 'int32' || c.type === 'int64' || c.type === 'decimal';
  if (from.type === to.type && from.type !== 'decimal') return 'same';
  if (numeric(from) && numeric(to)) {
    const [a, b] = [integerDigits(from), integerDigits(to)];
    const [sa, sb] = [
      from.type === 'decimal' ? (from.scale ?? (from.precision === undefined ? Infinity : 0)) : 0,
      to.type === 'decimal' ? (to.scale ?? (to.precision === undefined ? Infinity : 0)) : 0,
    ];
    if ((a ?? Infinity) === (b ?? Infinity) && sa === sb) return 'same';
    if ((a ?? Infinity) <= (b ?? Infinity) && sa <= sb) return 'wider';
    if ((a ?? Infinity) >= (b ?? Infinity) && sa >= sb) return 'narrower';
    return 'incompatible';
  }
  if (from.type === 'int32' && to.type === 'float') return 'wider';
  if (from.type === 'float' && to.type === 'int32') return 'narrower';
  return 'incompatible';
}

/** A type change that `evolve` cannot follow: the column, its old and new type. */
export interface IncompatibleChange {
  column: string;
  from: Column;
  to: Column;
  change: 'narrower' | 'incompatible';
}

/** `decimal(12,2)`, `int64`: a column's type as people read it. */
export function columnTypeText(c: Column): string {
  return c.type === 'decimal' && c.precision !== undefined ? `decimal(${c.precision},${c.scale ?? 0})` : c.type;
}

/** A schema change in one line, as the history and the logs show it. */
export function describeSchemaChange(c: SchemaChange): string {
  switch (c.kind) {
    case 'add':
      return `column ${c.column.name} added (${columnTypeText(c.column)})`;
    case 'drop':
      return `column ${c.column} dropped at the source (kept in the destination)`;
    case 'rename':
      return `column ${c.from} renamed to ${c.to}`;
    case 'widen':
      return `column ${c.column.name} widened from ${columnTypeText(c.from)} to ${columnTypeText(c.column)}`;
  }
}

/**
 * The differences between the columns a sync knew and those of a new batch. A column whose type was
 * guessed from values (`inferred`) only counts when it appears: its type follows the values of each
 * batch, and a schemaless record that lacks a field has not dropped it.
 */
export function diffColumns(known: readonly Column[], now: readonly Column[]): { changes: SchemaChange[]; incompatible: IncompatibleChange[] } {
  const before = new Map(known.map((c) => [c.name, c]));
  const changes: SchemaChange[] = [];
  const incompatible: IncompatibleChange[] = [];
  for (const column of now) {
    const old = before.get(column.name);
    if (!old) {
      changes.push({ kind: 'add', column });
      continue;
    }
    if (old.inferred || column.inferred) continue;
    const change = typeChange(old, column);
    if (change === 'wider') changes.push({ kind: 'widen', column, from: old });
    else if (change !== 'same') incompatible.push({ column: column.name, from: old, to: column, change });
  }
  if (!now.some((c) => c.inferred)) {
    const names = new Set(now.map((c) => c.name));
    for (const old of known) if (!old.inferred && !names.has(old.name)) changes.push({ kind: 'drop', column: old.name });
  }
  return { changes, incompatible };
}

/** `known` after `changes`: the column list a sync compares the next batches with. */
export function mergeColumns(known: readonly Column[], changes: readonly SchemaChange[]): Column[] {
  let out = [...known];
  for (const c of changes) {
    if (c.kind === 'add') out.push(c.column);
    else if (c.kind === 'widen') out = out.map((k) => (k.name === c.column.name ? c.column : k));
    else if (c.kind === 'drop') out = out.filter((k) => k.name !== c.column);
    else out = out.map((k) => (k.name === c.from ? { ...k, name: c.to } : k));
  }
  return out;
}

const NOT_DELETED = new Set(['', '0', 'false', 'f', 'n', 'no']);

/** Whether a soft-delete column's value marks its row deleted: a time, true, or a non-zero number; NULL, false, 0 and '' do not. */
export function markedDeleted(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value !== 0 && value !== 0n;
  if (typeof value === 'string') return !NOT_DELETED.has(value.trim().toLowerCase());
  return true;
}
