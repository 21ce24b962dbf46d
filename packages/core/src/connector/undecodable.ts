import type { Row } from './types.ts';

/**
 * Records a source could not turn into a row (a Kafka message that is not JSON, a broken line of an
 * S3 object) travel in the batch, in their place, as placeholder rows made by `undecodableRow`. The
 * runner takes them out before writing and applies the sync's error policy: `skip` puts them in the
 * dead letters (with where they came from and why) and the offset moves past them; `stop` fails the
 * sync before anything of the batch is written. Placeholders are known by identity.
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
