import { RowRejectedError, type Batch, type Destination, type Row } from '@idra/core';

/**
 * Records a source could not turn into a row (a Kafka message that is not JSON, a broken line of
 * an S3 object) travel in the batch as placeholder rows, so that the sync's error policy handles
 * them exactly like rows a destination rejects: the runner's write fails with RowRejectedError,
 * and under `onError: skip` it isolates them one by one into the dead letters (with where they
 * came from and why), commits the rest and moves the offset past them; under `stop` the sync fails
 * before anything of the batch is written. Placeholders are known by identity: they never reach a
 * destination, whose writes are guarded by {@link guardUndecodable}.
 */
const undecodable = new WeakMap<Row, Error>();

/** A placeholder row for a record that could not be decoded: `origin` says where it is (shown in the dead letter). */
export function undecodableRow(origin: Row, error: Error): Row {
  const row = { ...origin };
  undecodable.set(row, error);
  return row;
}

/** Why `row` is a placeholder for an undecodable record; undefined for a real row. */
export function undecodableError(row: Row): Error | undefined {
  return undecodable.get(row);
}

/** Wraps a destination so that a batch holding an undecodable record is refused whole, before anything is written. */
export function guardUndecodable(destination: Destination): Destination {
  const guarded: Destination = {
    async write(batch: Batch, signal: AbortSignal) {
      const bad = batch.rows.find((row) => undecodable.has(row));
      if (bad) throw new RowRejectedError(batch.rows.length === 1 ? bad : undefined, undecodable.get(bad));
      return destination.write(batch, signal);
    },
    close: () => destination.close(),
  };
  if (destination.resumePosition) guarded.resumePosition = (mode) => destination.resumePosition!(mode);
  return guarded;
}
