import { Option } from '@idra/core';

const source = { only: 'source' } as const;

/** Options of a source in mode `cdc` that every database with a change log takes; the other modes ignore them. */
export const CHANGE_LOG_OPTIONS = {
  snapshot: Option.oneOf(
    ['initial', 'never'],
    'cdc: copy the rows the table holds first (initial), or only follow changes from the start (never)',
    'initial',
    source,
  ),
  snapshotParallelism: Option.integer('cdc: key ranges of the initial copy read in parallel, each on a connection of its own', 1, { min: 1, max: 16 }, source),
  truncate: Option.oneOf(
    ['apply', 'ignore'],
    'cdc: a TRUNCATE of the source table empties the destination table (apply) or is left out (ignore)',
    'apply',
    source,
  ),
  maxTransactionRows: Option.integer(
    'cdc: a source transaction of more changed rows than this is applied in pieces of batchSize (the offset stays before it until its last piece)',
    100_000,
    { min: 1 },
    source,
  ),
};
